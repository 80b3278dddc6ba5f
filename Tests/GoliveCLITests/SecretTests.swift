import Foundation
import GoliveTestSupport
import Sandbox
import Testing

/// Secrets stay secret: not in the console summary, not in any transformed form, not in any
/// process list, and never too short to be found. The bytes are grepped, not golive's words.
@Suite(.serialized) struct SecretTests {
    let golive = GoliveBinary()
    let live: LiveHosts
    var store: String { live.directory + "/secrets.sqlite" }

    init() throws { live = try LiveHosts(count: 1) }

    func inventory(_ variable: String = "TEST_TOKEN") throws -> String {
        try live.write(
            try String(contentsOfFile: live.inventoryPath, encoding: .utf8) + "secrets:\n  token: { env: \(variable) }\n",
            name: "secret-inventory-\(UUID().uuidString.prefix(6)).yml")
    }

    /// Everything golive stored or can show about the store's runs.
    func everyRendering(_ environment: [String: String]) throws -> [String] {
        var out: [String] = []
        for file in [store, store + "-wal"] where FileManager.default.fileExists(atPath: file) {
            out.append(String(decoding: try Data(contentsOf: URL(fileURLWithPath: file)), as: UTF8.self))
        }
        for arguments in [
            ["timeline", "--store", store], ["timeline", "--store", store, "--format", "json"],
            ["timeline", "--store", store, "--format", "html"], ["report", "--store", store, "--format", "md"],
            ["report", "--store", store, "--format", "html"], ["watch", "--once", "--store", store], ["runs", "--store", store, "--json"],
        ] {
            out.append(try golive.run(arguments, environment: environment).output)
        }
        return out
    }

    @Test func theSummaryAndEveryDerivedFormOfASecretAreRedacted() throws {
        let secret = "Tok3n-\(UInt32.random(in: 100_000...999_999))-aB"
        let play = try live.write(
            """
            name: derived secrets
            hosts: web1
            deploy:
              - name: transform it
                shell: echo {{ token | upper }} {{ token | lower }} "{{ token | trim }}" '{{ token }}'
                register: forms
              - name: use the registered form
                shell: echo "again {{ forms.stdout }}"
              - name: fail with it
                shell: echo "bad token {{ token | raw }} and {{ token | upper }}" >&2; exit 3
            """, name: "derived.yml")
        let environment = ["TEST_TOKEN": secret]
        let (status, output) = try golive.run(["run", play, "-i", try inventory(), "--store", store], environment: environment)
        #expect(status == 1, "\(output.suffix(500))")
        #expect(output.contains("Summary of run"))
        let forms = [secret, secret.uppercased(), secret.lowercased()]
        for form in forms {
            #expect(!output.contains(form), "the console shows \(form)")
            for (index, shown) in try everyRendering(environment).enumerated() {
                #expect(!shown.contains(form), "rendering \(index) holds \(form)")
            }
        }
        #expect(output.contains("bad token ••••"), "\(output.suffix(600))")
    }

    /// Output beyond the capture limit is cut in the middle; a secret straddling either edge of the
    /// cut leaves only a piece on the record, and that piece is redacted too.
    @Test func aSecretCutInTwoByTheOutputLimitLeavesNoPieceOnTheRecord() throws {
        let secret = "cUt9-\(UInt32.random(in: 100_000...999_999))-Qz"
        // The SSH capture keeps the first and the last 64 KiB: the first copy straddles the head's
        // end (4 characters kept), the second the tail's start (5 characters kept).
        let play = try live.write(
            """
            name: cut secrets
            hosts: web1
            deploy:
              - name: loud
                shell: >-
                  head -c 65532 /dev/zero | tr '\\0' x; printf '%s' {{ token }};
                  head -c 200000 /dev/zero | tr '\\0' y; printf '%s' {{ token }};
                  head -c 65531 /dev/zero | tr '\\0' z
                register: loud
            """, name: "cut.yml")
        let environment = ["TEST_TOKEN": secret]
        let (status, output) = try golive.run(["run", play, "-i", try inventory(), "--store", store], environment: environment)
        #expect(status == 0, "\(output.suffix(500))")
        let pieces: [String] = ["x" + String(secret.prefix(4)), String(secret.suffix(5)) + "z"]
        var cuts = 0
        for (index, shown) in try everyRendering(environment).enumerated() {
            if shown.contains("bytes cut]") { cuts += 1 }
            for piece in pieces { #expect(!shown.contains(piece), "rendering \(index) holds \(piece)") }
            #expect(!shown.contains(secret))
        }
        #expect(cuts > 0, "no rendering shows the cut output")
    }

    @Test func aSecretTooShortToBeRedactedIsRefusedByName() throws {
        let play = try live.write("name: short\nhosts: web1\ndeploy:\n  - shell: echo {{ token }}\n", name: "short.yml")
        let inventory = try inventory()
        for command in [["run", play, "-i", inventory, "--store", store], ["validate", play, "-i", inventory]] {
            let (status, output) = try golive.run(command, environment: ["TEST_TOKEN": "ab"])
            #expect(status == 2, "\(command[0]): \(output)")
            #expect(output.contains("secret 'token' (from TEST_TOKEN) is 2 characters long"), "\(output)")
        }
    }

    @Test func noProcessOnTheHostOrTheControllerShowsASecret() async throws {
        let secret = "pR0c-\(UInt32.random(in: 100_000...999_999))"
        let ledger = live.directory + "/ledger"
        let play = try live.write(
            """
            name: long secret step
            hosts: web1
            deploy:
              - name: hold it a while
                shell: x={{ token }}; sleep 3; test "$x" = {{ token }}
                rollback: x={{ token }}; true
              - name: on the controller too
                local: x={{ token }}; sleep 2; echo done >> \(ledger)
            health:
              interval: 500ms
              duration: 1s
              probes:
                - shell: test -n {{ token }}
                - http: { url: "http://127.0.0.1:{{ http_port }}/health?t={{ token }}", via: host, contains: ok }
            """, name: "long.yml")
        let log = live.directory + "/long.log"
        let run = try golive.start(["run", play, "-i", try inventory(), "--store", store, "--json"], output: log, environment: ["TEST_TOKEN": secret])
        // Every process's command line, on this machine (the host's and the controller's), while the steps run.
        var seen = 0
        var leaks: [String] = []
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while run.isRunning && ContinuousClock.now < deadline {
            let scan = try HostTools.sh("for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f 2>/dev/null; echo; done")
            seen += 1
            for line in scan.split(separator: "\n") where line.contains(secret) { leaks.append(String(line)) }
            try await Task.sleep(for: .milliseconds(50))  // a scan every 50 ms, while the run lasts
        }
        #expect(run.wait() == 0, "\((try? String(contentsOfFile: log, encoding: .utf8))?.suffix(600) ?? "")")
        // A scan of every process takes a while on a busy machine: ten of them still cover the steps.
        #expect(seen > 10, "only \(seen) scans")
        #expect(leaks.isEmpty, "visible in the process list: \(leaks.prefix(3))")
        #expect(FileManager.default.fileExists(atPath: ledger))
    }
}
