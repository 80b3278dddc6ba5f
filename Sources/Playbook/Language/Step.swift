/// One action of a playbook section, with its options.
public struct Step: Sendable, Hashable {
    /// What the step does.
    public enum Action: Sendable, Hashable {
        /// A command line for the remote shell.
        case shell(Template)
        /// An argument vector, each element quoted: no shell interpretation.
        case command([Template])
        /// Copy a local file to the host.
        case upload(Transfer)
        /// Render a local file with the variables, then upload it.
        case template(Transfer)
        /// Back up a path into a tar.gz on the host; rolling back restores it exactly.
        case archive(Archive)
        /// An HTTP check.
        case http(HTTPCheck)
        /// A TCP connect check.
        case tcp(TCPCheck)
        /// Wait until a port, a file or a command becomes true.
        case wait(WaitCheck)
        /// Ask the operator to confirm.
        case gate(Gate)
        /// A command on the controller.
        case local(Template)

        /// The kind's keyword (`shell`, `upload`...).
        public var kind: String { stepKind.rawValue }

        /// The kind of step this action is.
        public var stepKind: StepKind {
            switch self {
            case .shell: .shell
            case .command: .command
            case .upload: .upload
            case .template: .template
            case .archive: .archive
            case .http: .http
            case .tcp: .tcp
            case .wait: .wait
            case .gate: .gate
            case .local: .local
            }
        }

        /// True for kinds that never change a host (usable as pre-checks and probes).
        public var isReadOnly: Bool {
            switch self {
            case .http, .tcp, .wait, .gate: true
            default: false
            }
        }
    }

    /// Which part of the playbook a step belongs to.
    public enum Section: String, Sendable, Hashable, Codable, CaseIterable {
        case prechecks, backup, deploy, rollback
    }

    /// Display name (defaults to the action's text).
    public var name: String
    /// What to do.
    public var action: Action
    /// The shell command that undoes the step (rolled back in reverse order).
    public var undo: Template?
    /// Skip the step unless this condition is true.
    public var when: Template?
    /// Bound on one attempt.
    public var timeout: Duration?
    /// Attempts after the first failure.
    public var retries: Int
    /// Pause between attempts.
    public var delay: Duration
    /// Keep retrying (up to `retries`) until this condition is true; `register` names the result.
    public var until: Template?
    /// Names the step's result for later templates (`{{ name.stdout }}`, `{{ name.rc }}`).
    public var register: String?
    /// Run on the first host of the run only.
    public var runOnce: Bool
    /// A failure is recorded but does not fail the host.
    public var ignoreErrors: Bool
    /// Where the step starts.
    public var location: SourceLocation
    /// Its section.
    public var section: Section
    /// Its position in the section (0-based).
    public var index: Int
    /// The play it belongs to (0-based).
    public var play: Int = 0
    /// The play's id in a playbook with a `plays:` list (it prefixes the step's id).
    public var playID: String?
    /// Where the step runs when not on the host it is for (`delegate_to:`).
    public var delegate: Delegate?
    /// Where `delegate_to:` is written.
    public var delegateLocation: SourceLocation?
    /// At most this many hosts run the step at once (`throttle:`).
    public var throttle: Int?
    /// The step's own `become*` (the nearest level).
    public var become = BecomeSettings()
    /// `rollback: none`: the step changes something that needs no undo, said on purpose.
    public var nothingToUndo = false
    /// `rollback: backup`: what the step changes is put back by its play's `archive` restores.
    public var undoneByBackup = false

    /// Something undoes the step, or it says it needs nothing: its `rollback:`, `none` or `backup`.
    public var declaresUndo: Bool { undo != nil || nothingToUndo || undoneByBackup }

    /// Creates a step.
    public init(
        name: String, action: Action, undo: Template? = nil, when: Template? = nil, timeout: Duration? = nil,
        retries: Int = 0, delay: Duration = .seconds(1), until: Template? = nil, register: String? = nil,
        runOnce: Bool = false, ignoreErrors: Bool = false, location: SourceLocation, section: Section, index: Int
    ) {
        self.name = name
        self.action = action
        self.undo = undo
        self.when = when
        self.timeout = timeout
        self.retries = retries
        self.delay = delay
        self.until = until
        self.register = register
        self.runOnce = runOnce
        self.ignoreErrors = ignoreErrors
        self.location = location
        self.section = section
        self.index = index
    }

    /// A stable identifier: `deploy[2]`, or `web.deploy[2]` in a playbook with a `plays:` list.
    public var id: String { (playID.map { "\($0)." } ?? "") + "\(section.rawValue)[\(index)]" }

    /// Where a step runs on behalf of its host (`delegate_to:`).
    public enum Delegate: Sendable, Hashable, CustomStringConvertible {
        /// The machine golive runs on.
        case controller
        /// Another inventory host, over its own connection.
        case host(String)

        /// The inventory host it names, if any.
        public var hostName: String? {
            if case .host(let name) = self { return name }
            return nil
        }

        public var description: String {
            switch self {
            case .controller: "controller"
            case .host(let name): name
            }
        }
    }

    /// The step runs on the controller (a `local` step, or `delegate_to: controller`).
    public var runsOnController: Bool {
        if case .local = action { return true }
        return delegate == .controller
    }

    /// True when the step can change something (every kind but the read-only ones and gates).
    public var changesSomething: Bool { !action.isReadOnly }
}

/// `upload:` and `template:`.
public struct Transfer: Sendable, Hashable {
    /// Local file (relative to the playbook).
    public var source: Template
    /// Remote path; a trailing `/` means "into this directory".
    public var destination: Template
    /// File mode (default 0644).
    public var mode: Int
    /// The file's owner (`chown`; with `become` unless the login user is the owner).
    public var owner: String?
    /// The file's group.
    public var group: String?
    /// True when `mode` was written; without it, a file that is overwritten keeps its mode (a new
    /// one gets 0644).
    public var modeGiven = true
}

/// `archive:`: a backup of `path` into `to`.
public struct Archive: Sendable, Hashable {
    /// The directory or file to back up.
    public var path: Template
    /// The tar.gz to write on the host.
    public var destination: Template
}

/// `http:`.
public struct HTTPCheck: Sendable, Hashable {
    /// The URL.
    public var url: Template
    /// Expected status (default 200).
    public var status: Int
    /// Text the body must contain.
    public var contains: Template?
    /// Bound on the request.
    public var timeout: Duration
    /// Send it from the host (with curl) instead of from the controller.
    public var viaHost: Bool
}

/// `tcp:`.
public struct TCPCheck: Sendable, Hashable {
    /// Inventory host or address (default: the host being checked).
    public var host: Template?
    /// The port.
    public var port: Int
    /// Bound on the connect.
    public var timeout: Duration
}

/// `wait:`: poll until the condition holds or the timeout passes.
public struct WaitCheck: Sendable, Hashable {
    /// What to wait for.
    public enum Condition: Sendable, Hashable {
        case port(Int, host: Template?)
        case file(Template)
        case command(Template)
    }

    /// The condition.
    public var condition: Condition
    /// Give up after this long.
    public var timeout: Duration
    /// Pause between polls.
    public var interval: Duration
}

/// `gate:`: the operator confirms before the run goes on.
public struct Gate: Sendable, Hashable {
    /// The question.
    public var prompt: Template
    /// Who answers it (shown in plans and reports).
    public var owner: String?
    /// The only identities whose answer counts (the store's login, or the OS user of a local
    /// store); empty: anyone who can reach the run, and `--yes`.
    public var approvers: [String] = []
}
