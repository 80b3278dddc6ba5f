import Foundation
import Playbook
import System

/// `tcp` checks: a connect from the controller.
extension StepActions {
    /// Connects from the controller to the host (or another inventory host, or an address).
    func tcpCheck(_ tcp: TCPCheck, context: TemplateContext, in run: isolated any RunControl) async throws -> StepAttempt {
        let target = try tcp.host.map { try $0.render(context, quoting: .plain).text }
        let address = target.flatMap { run.playbook.inventory.host(named: $0)?.address } ?? target ?? run.playbook.inventory.host(named: host)?.address ?? host
        let description = "tcp \(address):\(tcp.port)"
        do {
            try await ControllerChecks.tcp(host: address, port: tcp.port, timeout: tcp.timeout)
            return StepAttempt(ok: true, status: "ok", command: description)
        } catch {
            return StepAttempt(ok: false, status: "failed", command: description, message: "\(error)")
        }
    }
}
