import ArgumentParser
import Foundation
import Playbook
import Sandbox
import System

/// `golive sandbox up|down|status`: local simulated servers to try golive on.
struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox", abstract: "Start, stop or list local simulated servers (real sshd + HTTP per host).",
        subcommands: [Up.self, Down.self, Status.self, Partition.self, Heal.self])

    /// Where the sandbox lives.
    struct Location: ParsableArguments {
        @Option(name: .long, help: "The sandbox's directory.") var directory = ".golive/sandbox"
    }

    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start N web hosts (and a database server db1 and a load balancer lb1) and write their inventory.")
        @OptionGroup var location: Location
        @Option(name: .long, help: "How many hosts.") var hosts = 4
        @Option(name: .long, help: "Where to write the inventory.") var inventory = "inventories/sandbox.yml"
        @Flag(name: .long, help: "No HTTP service per host (sshd only; for benchmarks with many hosts).") var noHTTP = false
        @Flag(name: .long, help: "Web hosts only: no db1 and lb1 (the tiers of playbooks/tiers.yml).") var noTiers = false
        @Option(
            name: .long,
            help: "automatic (a network namespace and address per host when root, else loopback ports), loopback or namespaces."
        ) var network: Sandbox.NetworkMode = .automatic
        @Option(
            name: .long,
            help: "Whom the hosts let in: deploy (a non-root user with sudo, root logins refused; the default as root) or self (you; the default otherwise).")
        var login: String?
        @Flag(name: .long, help: "Log in as a user whose sudo asks for its password (a new one, kept in the sandbox's directory).")
        var sudoPassword = false
        @Option(
            name: .long,
            help: "The key the inventory logs in with: ed25519, rsa (an RSA key: OpenSSH logs in) or certificate (a key signed by a CA the hosts trust).")
        var key: String = "ed25519"

        func validate() throws {
            if let login, !["deploy", "self"].contains(login) { throw ValidationError("--login is deploy or self, not '\(login)'") }
            if Sandbox.ClientKey(rawValue: key) == nil { throw ValidationError("--key is ed25519, rsa or certificate, not '\(key)'") }
            if sudoPassword && login == "self" { throw ValidationError("--sudo-password logs in as a sandbox user: it does not go with --login self") }
        }

        func run() async throws {
            let sandbox = Sandbox(directory: location.directory)
            let chosen: Sandbox.Login =
                sudoPassword ? .password : (login ?? (geteuid() == 0 ? "deploy" : "self")) == "deploy" ? .deploy : .current
            let started = try sandbox.up(
                count: hosts, inventoryPath: inventory, http: !noHTTP, network: network, tiers: !noTiers, login: chosen,
                key: Sandbox.ClientKey(rawValue: key) ?? .ed25519)
            for host in started {
                let http = host.httpPort > 0 ? "http \(host.address):\(host.httpPort)" : "no http"
                print("\(host.name)  ssh \(host.address):\(host.sshPort)  \(http)  \(host.appDirectory)")
            }
            let down = location.directory == ".golive/sandbox" ? "golive sandbox down" : "golive sandbox down --directory \(ShellQuote.quote(location.directory))"
            print("\(started.count) host(s) up; inventory written to \(inventory). Stop them with: \(down)")
            switch key {
            case "rsa": print("The inventory logs in with an RSA key: golive connects through OpenSSH (transport: auto).")
            case "certificate": print("The inventory logs in with a CA-signed certificate: golive connects through OpenSSH (transport: auto).")
            default: break
            }
            switch chosen {
            case .current: print("The hosts let you in as yourself.")
            case .deploy: print("The hosts let in \(SandboxUsers.deploy) (sudo without a password); root logins are refused.")
            case .password:
                print("The hosts let in \(SandboxUsers.password), whose sudo asks for its password; give it to golive with:")
                print("  export \(Sandbox.sudoPasswordVariable)=\"$(cat \(ShellQuote.quote(sandbox.sudoPasswordFile)))\"")
            }
        }
    }

    struct Down: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the hosts this sandbox started.")
        @OptionGroup var location: Location

        func run() async throws {
            let sandbox = Sandbox(directory: location.directory)
            let count = sandbox.hosts().count
            let services = sandbox.down()
            print("stopped \(count) host(s)" + (services.stopped > 0 ? " and \(services.stopped) service(s) running on them" : ""))
            for line in services.leftRunning { Terminal.error("warning: \(line)") }
            // Something of the stack may still run: a person must look (see run.md's exit codes).
            if !services.leftRunning.isEmpty { throw ExitStatus.needsAttention.exitCode }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the sandbox's hosts.")
        @OptionGroup var location: Location

        func run() async throws {
            let rows = Sandbox(directory: location.directory).status()
            if rows.isEmpty { print("no sandbox hosts") }
            for (host, running) in rows {
                print(
                    "\(host.name)  \(running ? "running" : "stopped")  ssh \(host.address):\(host.sshPort)  http \(host.address):\(host.httpPort)"
                        + (host.network.map { "  netns \($0.namespace)" } ?? ""))
            }
        }
    }

    /// A host name argument.
    struct HostArgument: ParsableArguments {
        @Argument(help: "The host (web1, ...).") var host: String
    }

    struct Partition: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cut a host off the network (packets dropped silently); needs namespaces (root).")
        @OptionGroup var location: Location
        @OptionGroup var argument: HostArgument

        func run() async throws {
            try Sandbox(directory: location.directory).partition(argument.host)
            print("\(argument.host) cut off; end it with: golive sandbox heal \(argument.host)")
        }
    }

    struct Heal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reconnect a host cut off by `sandbox partition`.")
        @OptionGroup var location: Location
        @OptionGroup var argument: HostArgument

        func run() async throws {
            try Sandbox(directory: location.directory).heal(argument.host)
            print("\(argument.host) reconnected")
        }
    }
}

extension Sandbox.NetworkMode: ExpressibleByArgument {}
