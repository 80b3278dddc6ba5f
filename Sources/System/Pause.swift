import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Waits that a polling loop needs: a sleep that still sleeps when the task is cancelled (the loop
/// must go on until what it drives has ended), and SIGPIPE ignored once for every pipe and socket.
public enum Pause {
    /// Sleeps for `duration`, even when the task is cancelled (a cancelled task's own sleep returns at once).
    public static func uncancelled(_ duration: Duration) async {
        if Task.isCancelled {
            await Task.detached { try? await Task.sleep(for: duration) }.value
        } else {
            try? await Task.sleep(for: duration)
        }
    }

    /// SIGPIPE ignored, once: a write to a closed pipe or socket then fails with EPIPE instead of
    /// killing this process.
    static let brokenPipesIgnored: Void = { _ = signal(SIGPIPE, SIG_IGN) }()
}
