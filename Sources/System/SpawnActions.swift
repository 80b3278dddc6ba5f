internal import CGoliveSystem

#if canImport(Glibc)
    import Glibc
#endif

/// What `posix_spawn` file actions glibc has beyond POSIX.
enum SpawnActions {
    /// The child closes every descriptor from 3 up: it gets its 0, 1 and 2, nothing else of ours.
    static func closeFromThree(_ actions: inout posix_spawn_file_actions_t) {
        _ = golive_spawn_close_from(&actions, 3)
    }
}
