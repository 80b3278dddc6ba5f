import Engine
import Foundation
import GoliveTestSupport
import Playbook
import Testing

/// Every example under playbooks/ rehearses cleanly on the sandbox, and does what it says.
@Suite(.serialized) struct ExampleRehearsalTests {
    let live: LiveHosts
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// `release.yml` needs the web stack's services (HAProxy, nginx, PostgreSQL): WebStackGoLiveTests runs it there.
    static let examples = ((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("playbooks").path)) ?? [])
        .filter { $0.hasSuffix(".yml") && $0 != "release.yml" }.sorted()

    /// What a rehearsal on the sandbox stands in for (commands that would change this machine).
    static let overrides: [String: [String: Value]] = [
        "os-upgrade.yml": ["upgrade_command": .string("true"), "reboot_command": .string("true")]
    ]

    init() throws { live = try LiveHosts(count: 4, tiers: true, login: LiveHosts.productionLogin) }

    @Test func everyExampleIsCovered() {
        #expect(Set(Self.examples).isSuperset(of: ["webapp.yml", "db-migration.yml", "config-change.yml", "os-upgrade.yml", "tiers.yml"]))
    }

    @Test(arguments: examples) func rehearsesOnTheSandbox(_ name: String) async throws {
        let path = Self.root.appendingPathComponent("playbooks/\(name)").path
        let (outcome, events) = try await live.execute(path, vars: Self.overrides[name] ?? [:], kind: .rehearse) {
            $0.assumeYes = true
        }
        #expect(outcome.exitCode == 0, "\(name): \(outcome.reason ?? "") \(outcome.attention)")
        #expect(events.contains { $0.kind == .windowChecked })
        switch name {
        case "db-migration.yml":
            for host in ["web3", "web4"] {
                let app = try #require(live.host(host)).appDirectory
                #expect(try String(contentsOfFile: app + "/schema/version", encoding: .utf8) == "42_add_invoice_currency\n")
            }
            #expect(events.contains { $0.kind == .gateAnswered && $0.status == "yes" && $0.message?.hasPrefix("--yes") == true })
        case "config-change.yml":
            let app = try #require(live.host("web2")).appDirectory
            #expect(try String(contentsOfFile: app + "/config/app.conf", encoding: .utf8).contains("request_timeout = 30s"))
            #expect(events.filter { $0.kind == .batchStarted }.map(\.message) == ["web1", "web2, web3, web4"])
        case "webapp.yml":
            #expect(["web1", "web2", "web3", "web4"].allSatisfy { live.current($0) == "2.0.0" })
        case "tiers.yml":
            let db = try #require(live.host("db1")).appDirectory
            #expect(try String(contentsOfFile: db + "/schema/version", encoding: .utf8) == "42_add_invoices\n")
            #expect(["web1", "web2", "web3", "web4"].allSatisfy { live.current($0) == "2.0.0" })
            let web1 = try #require(live.host("web1")).appDirectory
            #expect(try String(contentsOfFile: web1 + "/releases/2.0.0/schema-before", encoding: .utf8) == "41_initial\n")
            // Each web host was drained on the balancer before it changed and enabled after.
            let lb = try #require(live.host("lb1")).root + "/etc/lb"
            let actions = try String(contentsOfFile: lb + "/actions.log", encoding: .utf8).split(separator: "\n").map(String.init)
            for host in ["web1", "web2", "web3", "web4"] {
                #expect(actions.filter { $0.hasSuffix(" " + host) } == ["drain \(host)", "enable \(host)"], "\(actions)")
            }
            let backends = try String(contentsOfFile: lb + "/backends", encoding: .utf8).split(separator: "\n").map(String.init)
            #expect(Set(backends) == ["web1", "web2", "web3", "web4"] && backends.count == 4)
        default:
            break
        }
    }

    @Test func aRehearsalCanRollBackOnPurposeSoTheRollbackIsTimedToo() async throws {
        let path = Self.root.appendingPathComponent("playbooks/webapp.yml").path
        let (outcome, events) = try await live.execute(path, vars: ["version": .string("2.5.0")], kind: .rehearse) {
            $0.rollbackAfter = true
        }
        #expect(outcome.exitCode == 0)
        #expect(["web1", "web2", "web3", "web4"].allSatisfy { live.current($0) != "2.5.0" })
        let timed = events.filter { $0.kind == .rollbackStepFinished }
        #expect(!timed.isEmpty && timed.allSatisfy { $0.durationMS != nil })
    }
}
