import Foundation
import Playbook
import System
import Testing

/// Templates: quoting into shell commands, filters, conditions.
struct TemplateTests {
    private func template(_ text: String) throws -> Template {
        try Template.parse(fileText: text, file: "test.tpl")
    }

    /// Hostile values reach the command as one literal argument: run the rendered command in a real shell.
    @Test(arguments: ["'; touch /tmp/golive-pwned #", "$(id)", "a\nb", "`id`", "it's", "x\"y", "*", "", "~root", "a b  c", "ünïcødé"])
    func valuesAreShellQuotedIntoOneArgument(_ value: String) throws {
        let rendered = try template("printf '%s|' {{ v }}").render(TemplateContext(variables: ["v": .string(value)]), quoting: .shell)
        let (status, output) = try ChildProcess.run("/bin/sh", ["-c", rendered.text])
        #expect(status == 0)
        #expect(output == value + "|")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/golive-pwned"))
    }

    @Test func rawIsInsertedAsWritten() throws {
        let rendered = try template("echo {{ v | raw }}").render(TemplateContext(variables: ["v": .string("$((1+2))")]), quoting: .shell)
        #expect(rendered.text == "echo $((1+2))")
        let (_, output) = try ChildProcess.run("/bin/sh", ["-c", rendered.text])
        #expect(output == "3\n")
    }

    @Test func filtersApply() throws {
        let context = TemplateContext(variables: ["p": .string("/srv/app/releases/2.0/"), "n": .string("Web")])
        #expect(try template("{{ p | basename }} {{ p | dirname }}").render(context, quoting: .plain).text == "2.0 /srv/app/releases/2.0")
        #expect(try template("{{ n | upper }}{{ n | lower }}").render(context, quoting: .plain).text == "WEBweb")
        #expect(try template("{{ missing | default('x y') }}").render(context, quoting: .shell).text == "'x y'")
        #expect(try template("{{ n | quote }}").render(context, quoting: .plain).text == "Web")
        #expect(try template("{{ p | quote }}").render(TemplateContext(variables: ["p": .string("a b")]), quoting: .shell).text == "'a b'")
    }

    @Test func secretsAreShownMaskedButSentInFull() throws {
        let rendered = try template("login --token {{ t }}").render(TemplateContext(variables: ["t": .secret(Secret("hunter22"))]), quoting: .shell)
        #expect(rendered.text == "login --token hunter22")
        #expect(rendered.display == "login --token '••••'")
        #expect(rendered.secrets == ["hunter22"])
        #expect("\(Secret("hunter22"))" == "[redacted]")
        let encoded = try JSONEncoder().encode(Secret("hunter22"))
        #expect(String(decoding: encoded, as: UTF8.self) == "\"[redacted]\"")
    }

    @Test func undefinedVariablesAreErrorsWithASuggestion() throws {
        let error = try #require(throws: TemplateError.self) {
            try self.template("echo {{ verison }}").render(TemplateContext(variables: ["version": .string("1")]), quoting: .shell)
        }
        #expect(error.message.contains("did you mean 'version'"))
        #expect(error.location.column == 9)
    }

    @Test func conditionsCompare() throws {
        let context = TemplateContext(variables: ["r": .map(["rc": .int(0), "stdout": .string("ok")]), "flag": .bool(false)])
        let parse = { (text: String) in try Template.parse(fileText: "{{ \(text) }}", file: "c") }
        #expect(try parse("r.rc == 0").evaluateCondition(context))
        #expect(try parse("r.stdout != 'ok'").evaluateCondition(context) == false)
        #expect(try parse("not flag").evaluateCondition(context))
        #expect(try parse("flag or r.rc < 1").evaluateCondition(context))
        #expect(try parse("'o' in r.stdout and not flag").evaluateCondition(context))
    }
}
