/// The figures a `probeRound` records for the console: each log and metric probe's newest value by
/// label (`load1`, `log app.log`, `value#2`), and, in the pre-checks, the baselines they are
/// compared with. Stored flat in `details`: figures as numbers' text, baselines under
/// `baseline LABEL` for display and all of them under `baselines` as `key=value;...` for recovery.
public struct ProbeFigures: Sendable, Hashable {
    /// The shown figures by label, as text (`ByteSize.format`).
    public var figures: [String: String] = [:]
    /// Baselines by label, as shown.
    public var shownBaselines: [String: String] = [:]
    /// Baselines by probe key (`2` for a log probe, `1.0` for a metric condition), as measured.
    public var baselines: [String: Double] = [:]

    /// Empty figures.
    public init() {}

    /// Reads the figures back from an event's details.
    public init(details: [String: String]) {
        for (key, value) in details {
            if key == "baselines" {
                for pair in value.split(separator: ";") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    if parts.count == 2, let number = Double(parts[1]) { baselines[String(parts[0])] = number }
                }
            } else if key.hasPrefix("baseline ") {
                shownBaselines[String(key.dropFirst("baseline ".count))] = value
            } else {
                figures[key] = value
            }
        }
    }

    /// The figures as stored.
    public var details: [String: String] {
        var details = figures
        for (label, value) in shownBaselines { details["baseline \(label)"] = value }
        if !baselines.isEmpty {
            details["baselines"] = baselines.keys.sorted().map { "\($0)=\(baselines[$0] ?? 0)" }.joined(separator: ";")
        }
        return details
    }

    /// The figures that are numbers, by label (what the console charts).
    public var values: [String: Double] { figures.compactMapValues(Double.init) }
}
