import ArgumentParser
import Console
import Engine
import Foundation
import Store

/// `golive watch [RUN]`: the live console of a run, from any terminal, while it runs and after.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch", abstract: "Live console of a run (default: the newest), from any terminal.")

    @Argument(help: "The run id (or a unique prefix); default: the newest run.") var run: String?
    @OptionGroup var storeOptions: StoreOptions
    @Flag(name: .long, help: "Print one snapshot and exit (also when not on a terminal).") var once = false
    @Flag(name: .long, help: "No colours (also NO_COLOR).") var noColor = false

    func run() async throws {
        if noColor { Terminal.colorDisabled = true }
        let store = try await storeOptions.open()
        let record = try await storeOptions.run(store, run)
        // Listening starts before the first read: no commit falls between the two.
        var mark = await store.changeMark()
        var model = WatchModel(runID: record.id)
        model.apply(try await store.events(runID: record.id))
        let holder = (try? await store.environmentLock?.holder(of: record.environment)) ?? nil
        if model.run.result == nil, RunsCommand.shownStatus(record, holder: holder) != "running" {
            model.controllerNote = "controller lost?"
        }
        let size = TerminalSize.current()
        var screen = WatchScreen(width: size.columns, height: size.rows)
        if once || !Terminal.stdoutIsTTY || !Terminal.stdinIsTTY {
            print(screen.render(model).joined(separator: "\n"))
            return
        }
        let raw = RawTerminal()
        defer { raw.restore() }
        var follow = true
        var filtering = false
        var lastDraw = Date.distantPast
        var dirty = true
        var watched = record.id
        var lastCheck = Date()
        var lastRead = Date()
        var newestDue = false
        var notice: (text: String, until: Date)?
        var unreachable = false
        while true {
            // A store that says when it changed is read only then (and every 5 s all the same);
            // one that cannot say is read each time round.
            let now = await store.changeMark()
            let changed = now == nil || now != mark || Date().timeIntervalSince(lastRead) >= 5
            mark = now
            if changed { newestDue = true }
            var fresh: [RunEvent] = []
            do {
                // Without a run id, follow the newest run: a later run takes the screen, and says so.
                if run == nil, newestDue, Date().timeIntervalSince(lastCheck) >= 1 {
                    lastCheck = Date()
                    newestDue = false
                    if let newest = try await store.runs(limit: 1, kind: nil).first, newest.id != watched {
                        watched = newest.id
                        model = WatchModel(runID: newest.id)
                        notice = ("now watching run \(newest.id), the newest (give a run id to stay on one)", Date().addingTimeInterval(5))
                        dirty = true
                    }
                }
                fresh = changed ? try await store.events(runID: watched, after: model.lastSequence) : []
                if changed { lastRead = Date() }
                if unreachable {
                    unreachable = false
                    notice = ("the store answers again", Date().addingTimeInterval(3))
                    dirty = true
                }
            } catch {
                // A store that went away (restarted, failed over) is asked again every second; the
                // screen stays, and says so.
                unreachable = true
                newestDue = true
                lastRead = Date().addingTimeInterval(-4)
                notice = ("the store is unreachable (\(error)): trying again every second", Date().addingTimeInterval(3600))
                dirty = true
            }
            if !fresh.isEmpty {
                model.apply(fresh)
                dirty = true
                if follow, let index = model.hosts.lastIndex(where: { $0.state == "running" || $0.state == "rolling-back" }) {
                    screen.scroll = max(0, index - screen.hostRows + 1)
                }
            }
            let size = TerminalSize.current()
            if size.columns != screen.width || size.rows != screen.height {
                screen.width = max(40, size.columns)
                screen.height = max(10, size.rows)
                dirty = true
            }
            if dirty || Date().timeIntervalSince(lastDraw) >= 1 {
                let shown = notice.flatMap { $0.until > Date() ? $0.text : nil }
                raw.draw(screen.render(model), prompt: filtering ? "/ filter: \(screen.filter)" : shown)
                lastDraw = Date()
                dirty = false
            }
            guard let key = raw.readKey(timeoutMilliseconds: now == nil ? 200 : 50) else { continue }
            dirty = true
            if filtering {
                switch key {
                case .enter, .escape: filtering = false
                case .backspace: if !screen.filter.isEmpty { screen.filter.removeLast() }
                case .character(let character): screen.filter.append(character)
                default: break
                }
                continue
            }
            switch key {
            case .character("q"), .escape: return
            case .character("f"): follow.toggle()
            case .character("/"): filtering = true
            case .character("e"):
                if screen.outputHost != nil {
                    screen.outputHost = nil
                } else {
                    let rows = model.hosts.filter { screen.filter.isEmpty || $0.host.contains(screen.filter) }
                    screen.outputHost = rows.dropFirst(screen.scroll).first?.host
                }
            case .up:
                follow = false
                screen.scroll = max(0, screen.scroll - 1)
            case .down:
                follow = false
                screen.scroll = min(max(0, model.hosts.count - 1), screen.scroll + 1)
            case .pageUp:
                follow = false
                screen.scroll = max(0, screen.scroll - screen.hostRows)
            case .pageDown:
                follow = false
                screen.scroll = min(max(0, model.hosts.count - screen.hostRows), screen.scroll + screen.hostRows)
            default: break
            }
        }
    }
}
