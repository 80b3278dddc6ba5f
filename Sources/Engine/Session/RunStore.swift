/// Where runs are recorded: the seam between the engine and a store (the embedded SQLite
/// timeline; an in-memory one for tests and dry runs).
public protocol RunStore: Sendable {
    /// Where it is, for messages (a file path, a URL without its password).
    var location: String { get }
    /// The environment lock it keeps, if it keeps one.
    var environmentLock: (any EnvironmentLock)? { get }
    /// A journal that appends to run `runID` (new or recorded).
    ///
    /// - Throws: when the store cannot be read.
    func journal(runID: String) throws -> any Journal
    /// Run `runID`'s events, in order.
    ///
    /// - Throws: when the store cannot be read.
    func events(runID: String) async throws -> [RunEvent]
    /// Records a resolved plan under its fingerprint (the first record wins).
    ///
    /// - Throws: when the store cannot be written.
    func record(plan: ResolvedPlan, playbookFile: String, environment: String) async throws
    /// The plan recorded under `fingerprint`, if any.
    ///
    /// - Throws: when the store cannot be read.
    func plan(fingerprint: String) async throws -> ResolvedPlan?
}
