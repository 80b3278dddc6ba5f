import Foundation
import System
import Testing

/// The controller's half of an escalation: the password only after sudo asked for it, once; the
/// script only after the escalated shell started; nothing sent up front.
struct EscalationDialogueTests {
    let script = Data("12\nid -un\n".utf8)

    func dialogue(password: String?) -> EscalationDialogue {
        EscalationDialogue(escalation: Escalation(method: .sudo, user: "root", password: password), script: script)
    }

    @Test func withoutAPromptThePasswordIsNeverSent() {
        var talk = dialogue(password: "s3cret-pw")
        let reply = talk.receive(Data("golive-pgid:4242\nthe command's own stderr\n".utf8))
        #expect(reply.write == script)
        #expect(talk.phase == .started)
        #expect(String(decoding: reply.stderr, as: UTF8.self) == "the command's own stderr\n")
        #expect(!talk.promptSeen)
    }

    @Test func thePasswordGoesOnceAfterThePromptThenTheScript() {
        var talk = dialogue(password: "s3cret-pw")
        // The prompt split across chunks, after a lecture line.
        var reply = talk.receive(Data("We trust you have received the usual lecture.\ngolive-become-".utf8))
        #expect(reply.write == nil)
        reply = talk.receive(Data("password:".utf8))
        #expect(reply.write == Data("s3cret-pw\n".utf8))
        #expect(talk.phase == .passwordSent)
        reply = talk.receive(Data("golive-pg".utf8))
        #expect(reply.write == nil)
        reply = talk.receive(Data("id:77\n".utf8))
        #expect(reply.write == script)
        #expect(talk.failure(timedOut: false) == nil)
        #expect(talk.said.contains("lecture"))
    }

    @Test func aSecondPromptClosesInputAndSaysRefused() {
        var talk = dialogue(password: "wrong-pw")
        _ = talk.receive(Data("golive-become-password:".utf8))
        let reply = talk.receive(Data("Sorry, try again.\ngolive-become-password:".utf8))
        #expect(reply.write == nil)
        #expect(reply.closeInput)
        #expect(talk.phase == .refused)
        #expect(talk.failure(timedOut: false) == .passwordRefused)
    }

    @Test func aPromptWithoutAPasswordIsRefusedNotAnswered() {
        var talk = dialogue(password: nil)
        let reply = talk.receive(Data("golive-become-password:".utf8))
        #expect(reply.closeInput && reply.write == nil)
    }

    @Test func sudosOwnWordsAreClassified() {
        let sudo = Escalation(method: .sudo, user: "root", password: nil)
        #expect(sudo.failure(stderr: "sudo: a password is required\n", promptSeen: false, passwordSent: false) == .needsPassword)
        #expect(sudo.failure(stderr: "sudo: sorry, you must have a tty to run sudo\n", promptSeen: false, passwordSent: false) == .requiresTTY)
        if case .notAllowed(let said) = sudo.failure(stderr: "alice is not in the sudoers file.\n", promptSeen: true, passwordSent: true) {
            #expect(said == "alice is not in the sudoers file.")
        } else {
            Issue.record("not in sudoers was not recognised")
        }
        var talk = dialogue(password: "s3cret-pw")
        _ = talk.receive(Data("sudo: a password is required\n".utf8))
        #expect(talk.failure(timedOut: false) == .needsPassword)
        #expect(dialogue(password: nil).failure(timedOut: true) == .noAnswer)
        // The messages name the host and the login user, never the password.
        let message = Escalation(method: .sudo, user: "root", password: "s3cret-pw").message(.passwordRefused, host: "web2", login: "alice")
        #expect(message.hasPrefix("sudo on web2 refused the password for alice"))
        #expect(!message.contains("s3cret-pw") && !"\(Escalation(method: .sudo, user: "root", password: "s3cret-pw"))".contains("s3cret"))
    }

    @Test func theLauncherCarriesNoSecretAndQuotesTheUser() {
        let launcher = Escalation(method: .sudo, user: "app", password: "s3cret-pw").launcher
        #expect(!launcher.contains("s3cret"))
        #expect(launcher.hasPrefix("sudo -k -S -p golive-become-password: -H -u app -- /bin/sh -c "))
        #expect(Escalation(method: .sudo, user: "root").launcher.hasPrefix("sudo -k -n -H -u root -- "))
        #expect(Escalation(method: .doas, user: "root").launcher.hasPrefix("doas -n -u root /bin/sh -c "))
        #expect(Escalation(method: .su, user: "app").launcher.hasPrefix("su -s /bin/sh -c "))
    }
}
