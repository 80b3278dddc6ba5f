import Foundation

/// Why a round of log and metric probes could not be read on a host.
struct SignalError: Error, Sendable {
    /// What went wrong.
    var message: String
}
