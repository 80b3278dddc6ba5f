import Foundation
import GoliveTestSupport
import System
import Testing

/// The HTML timeline renders in headless Chromium: a non-blank screenshot and one bar per step,
/// probe round and rollback step in the DOM.
@Suite(.serialized) struct TimelineHTMLTests {
    let golive = GoliveBinary()
    let live: LiveHosts

    init() throws { live = try LiveHosts(count: 4) }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/bin/chromium"), "needs chromium (Debian package)"))
    func theGanttChartRendersInChromium() throws {
        let store = live.directory + "/html.sqlite"
        let run = try golive.run(
            ["run", golive.root + "/playbooks/webapp.yml", "-i", live.inventoryPath, "--store", store, "-e", "version=3.0.0", "-e", "healthy=false"])
        #expect(run.status == 1)
        let events = try golive.timelineEvents(nil, store: store)
        let expectedBars = events.filter { ["stepFinished", "rollbackStepFinished", "probeRound", "controllerLost"].contains($0["kind"] as? String ?? "") }.count
        let html = live.directory + "/timeline.html"
        #expect(try golive.run(["timeline", "--store", store, "--format", "html", "-o", html]).status == 0)
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(!page.contains("http://") || !page.contains("<script src"))
        let chromium = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=\(live.directory)/chrome"]
        let dom = try ChildProcess.run("/usr/bin/chromium", chromium + ["--dump-dom", "file://\(html)"])
        #expect(dom.status == 0)
        let bars = dom.output.components(separatedBy: "class=\"bar ").count - 1
        #expect(bars == expectedBars, "\(bars) bars in the DOM, \(expectedBars) expected")
        #expect(dom.output.components(separatedBy: "class=\"bar rollback").count - 1 >= 4)
        #expect(dom.output.contains("failed"))
        let shot = live.directory + "/timeline.png"
        let screenshot = try ChildProcess.run("/usr/bin/chromium", chromium + ["--screenshot=\(shot)", "--window-size=1200,900", "file://\(html)"])
        #expect(screenshot.status == 0)
        let png = try Data(contentsOf: URL(fileURLWithPath: shot))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        #expect(png.count > 20_000, "a \(png.count)-byte screenshot is blank")
    }
}
