import Foundation
import Playbook
import System

/// Builds the one shell script a round of log and metric probes runs on a host, and reads its output.
///
/// Every probe of a host shares the host's connection and this one command per round.
enum SignalScript {
    /// Lines of matched log output kept per probe and round.
    static let keptLines = 5

    /// The script for `probes` (index, check) given what was read before (`follow` false: only
    /// note where each log ends now, as the start of following it).
    static func build(_ probes: [(Int, Probe.Check)], state: SignalState, follow: Bool, context: TemplateContext) throws
        -> RenderedText
    {
        var text: [String] = [], display: [String] = [], secrets: [String] = []
        func add(_ line: String) {
            text.append(line)
            display.append(line)
        }
        func add(_ format: (String) -> String, _ rendered: RenderedText) {
            text.append(format(rendered.text))
            display.append(format(rendered.display))
            secrets += rendered.secrets
        }
        let count = """
            awk 'BEGIN { re = ENVIRON["GOLIVE_RE"] } $0 ~ re { c++; l[c % \(keptLines)] = $0 } \
            END { print "@@count " c + 0; for (i = c - \(keptLines - 1); i <= c; i++) if (i > 0) print "@@line " l[i % \(keptLines)] }'
            """
        for (index, check) in probes {
            switch check {
            case .log(let log):
                // A path, not a command: one quoted word, spaces, quotes and all.
                let path = try log.path.render(context, quoting: .plain)
                add({ "f=\(ShellQuote.quote($0))" }, path)
                add("if [ -r \"$f\" ]; then set -- $(stat -Lc '%i %s' -- \"$f\"); ino=$1; size=$2; else ino=0; size=0; fi")
                add("echo \"@@log \(index) $ino $size\"")
                guard follow, let position = state.positions[index] else { continue }
                let pattern = ShellQuote.quote(log.match)
                // Same file, grown: read what was added. Rotated (new inode): the rest of the old
                // file, found by its inode, then the new file from its start. Truncated: from 0.
                add("start=0; if [ \"$ino\" = \(position.inode) ] && [ \"$size\" -ge \(position.offset) ]; then start=\(position.offset); fi")
                add(
                    "if [ \"$ino\" != \(position.inode) ]; then old=$(find \"$(dirname -- \"$f\")\" -maxdepth 1 -inum \(position.inode) 2>/dev/null | head -n 1); "
                        + "if [ -n \"$old\" ]; then tail -c +\(position.offset + 1) -- \"$old\" | GOLIVE_RE=\(pattern) \(count); fi; fi")
                add("if [ \"$size\" -gt \"$start\" ]; then tail -c +$((start + 1)) -- \"$f\" | head -c $((size - start)) | GOLIVE_RE=\(pattern) \(count); fi")
                add("echo \"@@end \(index)\"")
            case .metric(let metric):
                for (number, condition) in metric.conditions.enumerated() {
                    let key = "\(index).\(number)"
                    switch condition.source {
                    case .load1: add("echo \"@@metric \(key) $(cut -d' ' -f1 /proc/loadavg)\"")
                    case .memAvailable: add("echo \"@@metric \(key) $(awk '/^MemAvailable:/ { printf \"%.0f\", $2 * 1024 }' /proc/meminfo)\"")
                    case .diskFree(let path):
                        add(
                            { "echo \"@@metric \(key) $(df -Pk -- \(ShellQuote.quote($0)) 2>/dev/null | awk 'NR == 2 { printf \"%.0f\", $4 * 1024 }')\"" },
                            try path.render(context, quoting: .plain))
                    case .command(let command):
                        add(
                            { "echo \"@@metric \(key) $( ( \($0) ) 2>/dev/null | grep -Eo '[-+]?[0-9]+([.][0-9]+)?' | tail -n 1)\"" },
                            try command.render(context, quoting: .shell))
                    }
                }
            default:
                break
            }
        }
        return RenderedText(text: text.joined(separator: "\n"), display: display.joined(separator: "\n"), secrets: secrets)
    }

    /// Reads the script's output.
    static func parse(_ output: String) -> SignalReadings {
        var readings = SignalReadings()
        var current: Int?
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("@@log ") {
                let fields = line.split(separator: " ")
                guard fields.count == 4, let index = Int(fields[1]) else { continue }
                readings.logs[index] = (String(fields[2]), Int(fields[3]) ?? 0, 0, [])
                current = index
            } else if line.hasPrefix("@@count "), let index = current {
                readings.logs[index]?.count += Int(line.dropFirst(8)) ?? 0
            } else if line.hasPrefix("@@line "), let index = current {
                readings.logs[index]?.lines.append(String(line.dropFirst(7)))
            } else if line.hasPrefix("@@end ") {
                current = nil
            } else if line.hasPrefix("@@metric ") {
                let fields = line.split(separator: " ", maxSplits: 2)
                guard fields.count >= 2 else { continue }
                readings.metrics[String(fields[1])] = fields.count == 3 ? Double(fields[2]) : Double?.none
            }
        }
        for (index, log) in readings.logs { readings.logs[index]?.lines = Array(log.lines.suffix(keptLines)) }
        return readings
    }
}
