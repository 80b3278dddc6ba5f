/// Finds a cycle in a graph of names (child groups, jump hosts) by depth-first search.
struct GraphCycle {
    private var state: [String: Int] = [:]
    private var path: [String] = []
    private let next: (String) -> [String]

    /// A search over the edges `next` gives.
    init(next: @escaping (String) -> [String]) { self.next = next }

    /// A cycle reachable from `start` not found by an earlier call (`a → b → a`), or nil.
    mutating func cycle(from start: String) -> [String]? {
        if state[start] == 1 { return Array(path.drop { $0 != start }) + [start] }
        if state[start] == 2 { return nil }
        state[start] = 1
        path.append(start)
        defer { path.removeLast() }
        for name in next(start) { if let cycle = cycle(from: name) { return cycle } }
        state[start] = 2
        return nil
    }
}
