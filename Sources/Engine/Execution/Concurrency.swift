import Playbook

/// Bounded structured concurrency over hosts: a task group with at most `limit` bodies in flight.
public enum Concurrency {
    /// Runs `body` for every item with at most `limit` in flight; results by the item's key.
    public static func forEach<Item: Sendable, Result: Sendable>(
        _ items: [Item], limit: Int, key: @escaping @Sendable (Item) -> String,
        _ body: @escaping @Sendable (Item) async -> Result
    ) async -> [String: Result] {
        await withTaskGroup(of: (String, Result).self) { group in
            var pending = items[...]
            var results: [String: Result] = [:]
            for item in pending.prefix(max(1, limit)) { group.addTask { (key(item), await body(item)) } }
            pending = pending.dropFirst(max(1, limit))
            while let (id, result) = await group.next() {
                results[id] = result
                if let item = pending.popFirst() { group.addTask { (key(item), await body(item)) } }
            }
            return results
        }
    }

    /// Runs `body` for every inventory host with at most `limit` in flight; results by host name.
    public static func forEach<Result: Sendable>(
        _ hosts: [InventoryHost], limit: Int, _ body: @escaping @Sendable (InventoryHost) async -> Result
    ) async -> [String: Result] {
        await forEach(hosts, limit: limit, key: { $0.name }, body)
    }
}
