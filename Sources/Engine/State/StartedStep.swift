/// A backup or deploy step that was started on a host: what a rollback undoes, newest first.
public struct StartedStep: Sendable, Hashable {
    /// The step's id (`deploy[2]`).
    public var id: String
    /// Its identity beyond the index (see ``StepDetails/key``); nil in journals written before it existed.
    public var key: String?
    /// Its display name.
    public var name: String
    /// The phase it ran in (`backup` or `deploy`).
    public var phase: RunEvent.Phase
    /// The command as recorded when it started (redacted on the timeline).
    public var command: String?
    /// Its rollback as rendered at the time (redacted on the timeline), when it has one.
    public var rollback: String?
    /// It ran on the controller: so does its rollback.
    public var onController: Bool
    /// The inventory host it was delegated to: its rollback runs there too.
    public var delegateTo: String? = nil
    /// Attempts started.
    public var attempts: Int
    /// Its last attempt finished `ok`.
    public var confirmed: Bool
}
