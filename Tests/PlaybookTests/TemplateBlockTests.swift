import Foundation
import Playbook
import System
import Testing

/// `{% for %}`, `{% if %}`, the fleet in scope and the list filters: rendered, checked in every
/// branch, and quoted for the shell inside loops.
struct TemplateBlockTests {
    private func template(_ text: String, file: String = "test.tpl") throws(PlaybookError) -> Template {
        try Template.parse(fileText: text, file: file)
    }

    /// Three hosts as `groups.web` gives them.
    static let web: Value = .list(
        (1...3).map { index in
            .map([
                "name": .string("web\(index)"), "address": .string("10.0.0.\(index)"), "port": .int(22),
                "vars": .map(["weight": .int(index * 10)]),
            ])
        })
    static let context = TemplateContext(variables: ["groups": .map(["web": web, "db": .list([])]), "version": .string("2.0")])

    @Test func aLoopOverAGroupRendersOneLinePerHostWithoutBlankLines() throws {
        let text = """
            upstream app {
            {% for h in groups.web %}
                server {{ h.address }}:80 weight={{ h.vars.weight }};
            {% endfor %}
            }

            """
        #expect(
            try template(text).render(Self.context, quoting: .plain).text
                == "upstream app {\n    server 10.0.0.1:80 weight=10;\n    server 10.0.0.2:80 weight=20;\n    server 10.0.0.3:80 weight=30;\n}\n")
    }

    @Test func conditionalsTakeOneArmAndLoopKnowsWhereItIs() throws {
        let text = "{% for h in groups.web %}{{ h.name }}{% if loop.last %}.{% elif loop.first %}, {% else %} and {% endif %}{% endfor %}"
        #expect(try template(text).render(Self.context, quoting: .plain).text == "web1, web2 and web3.")
        let empty = "{% for h in groups.db %}{{ h.name }}{% else %}no database{% endfor %}"
        #expect(try template(empty).render(Self.context, quoting: .plain).text == "no database")
        #expect(try template("{%- if version == '2.0' -%}  new  {%- else -%} old {%- endif %}").render(Self.context, quoting: .plain).text == "new")
    }

    @Test func listFiltersBuildConfigValues() throws {
        let render = { (text: String) throws -> String in try self.template(text).render(Self.context, quoting: .plain).text }
        #expect(try render("{{ groups.web | map(attribute='name') | join(',') }}") == "web1,web2,web3")
        #expect(try render("{{ groups.web | length }}") == "3")
        #expect(try render("{{ groups.web | map(attribute='vars.weight') | sort | last }}") == "30")
        let names = TemplateContext(variables: ["n": .list(["b", "a", "b", "c"].map(Value.string))])
        #expect(try template("{{ n | unique | sort | join(' ') }}").render(names, quoting: .plain).text == "a b c")
        #expect(throws: TemplateError.self) { try self.template("{{ version | first }}").render(Self.context, quoting: .plain) }
    }

    /// Every value produced inside a loop is its own quoted word, whatever it holds: run in a real shell.
    @Test func valuesInsideLoopsAreQuotedForTheShell() throws {
        let hostile = ["a b", "$(touch /tmp/golive-loop-pwned)", "it's", "x;y", "`id`", "-n"]
        let context = TemplateContext(variables: ["items": .list(hostile.map(Value.string))])
        let text = "printf '%s|' {% for i in items %}{{ i }} {% endfor %}; printf '\\n'; printf '<%s>' \"{% for i in items %}{{ i }}{% endfor %}\""
        let rendered = try template(text).render(context, quoting: .shell)
        let (status, output) = try ChildProcess.run("/bin/sh", ["-c", rendered.text])
        #expect(status == 0, "\(rendered.text)")
        #expect(output == hostile.map { $0 + "|" }.joined() + "\n<" + hostile.joined() + ">")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/golive-loop-pwned"))
    }

    @Test func aBlockThatChangesTheQuotingIsRefused() throws {
        let open = try template("echo {% for i in items %}'{{ i }}{% endfor %}'")
        #expect(open.shellDiagnostics.contains { $0.isError && $0.message.contains("changes the shell's quoting") })
        let balanced = try template("echo {% for i in items %}'x'{{ i }}{% endfor %}")
        #expect(!balanced.shellDiagnostics.contains { $0.isError })
    }

    @Test func secretsInsideLoopsStayMasked() throws {
        let context = TemplateContext(variables: ["keys": .list([.secret(Secret("s3cr3t-one")), .string("plain")])])
        let rendered = try template("{% for k in keys %}key={{ k }};{% endfor %} all={{ keys | join(',') }}").render(context, quoting: .plain)
        #expect(rendered.text == "key=s3cr3t-one;key=plain; all=s3cr3t-one,plain")
        #expect(!rendered.display.contains("s3cr3t"))
        #expect(rendered.secrets.contains("s3cr3t-one"))
    }

    @Test func everyBranchIsCheckedNotOnlyTheOneTaken() throws {
        let text = "{% if version == '2.0' %}ok{% else %}{{ not_defined }}{% endif %}{% for h in groups.web %}{{ h.nmae }}{% endfor %}"
        let problems = try template(text).unresolved(in: Self.context).map(\.message)
        #expect(problems.contains { $0.contains("not_defined") })
        #expect(problems.contains { $0.contains("h.nmae") && $0.contains("did you mean 'h.name'") }, "\(problems)")
        let notAList = try template("{% for c in version %}{{ c }}{% endfor %}").unresolved(in: Self.context).map(\.message)
        #expect(notAList == ["loops over a list, not a string"], "\(notAList)")
    }

    @Test(arguments: [
        ("{% for h in groups.web %}x", "1:1", "unterminated '{% for %}'"),
        ("{% if a %}x{% endfor %}", "1:12", "'{% endfor %}' inside an if"),
        ("x{% endif %}", "1:2", "'{% endif %}' without a block to end"),
        ("{% for in groups %}{% endfor %}", "1:1", "a loop is `{% for NAME in LIST %}`"),
        ("{% while x %}", "1:1", "unknown block '{% while %}'"),
        ("line\n  {% if a %}\n{% else %}{% else %}{% endif %}", "3:11", "'{% else %}' after '{% else %}'"),
        ("{% if a %}{{ x }", "1:11", "unterminated '{{'"),
        ("{% if a", "1:1", "unterminated '{%'"),
    ])
    func malformedBlocksAreRefusedWithTheirPlace(_ text: String, _ position: String, _ message: String) {
        do {
            _ = try template(text)
            Issue.record("accepted: \(text)")
        } catch let error {
            #expect("\(error.location.line):\(error.location.column)" == position, "\(error)")
            #expect(error.description.contains(message), "\(error)")
        }
    }

    @Test func nestingIsBounded() throws {
        let deep = String(repeating: "{% if a %}", count: 80) + String(repeating: "{% endif %}", count: 80)
        #expect(throws: PlaybookError.self) { try self.template(deep) }
        let fine = String(repeating: "{% if a %}", count: 10) + "x" + String(repeating: "{% endif %}", count: 10)
        #expect(try template(fine).render(TemplateContext(variables: ["a": .bool(true)]), quoting: .plain).text == "x")
    }

    /// What an attack found, each kept from coming back.
    @Test func aTagInsideALineKeepsItsNewlineAndShellBracesStayText() throws {
        #expect(try template("echo start {% if true %}A{% endif %}\ntouch x").render(Self.context, quoting: .plain).text == "echo start A\ntouch x")
        #expect(try template("  {% if true %}\nkept\n  {% endif %}\nafter").render(Self.context, quoting: .plain).text == "kept\nafter")
        for text in ["printf '{%s}\\n' a", "awk '{%x}'", "printf '%%{%d}' 1", "echo ${#x}"] {
            #expect(try template(text).render(Self.context, quoting: .plain).text == text)
        }
        #expect(throws: PlaybookError.self) { try self.template("{% for h in groups.web %}x{% endfor h %}") }
    }

    @Test func aSecretCannotDecideWhatIsRendered() throws {
        let context = TemplateContext(variables: ["tok": .secret(Secret("Zq9SecretXy")), "alphabet": .list(["Z", "q", "a"].map(Value.string))])
        let oracle = try template("{% for c in alphabet %}{% if c in tok %}{{ c }}{% endif %}{% endfor %}")
        #expect(throws: TemplateError.self) { try oracle.render(context, quoting: .plain) }
        #expect(oracle.unresolved(in: context).contains { $0.message.contains("a secret cannot be compared") })
        #expect(try template("{{ tok | length }}").unresolved(in: context).contains { $0.message.contains("length of a secret") })
    }

    @Test func validateEvaluatesWhatTheDataMakesOfTheTemplate() throws {
        let checks = [
            ("{{ version | first }}", "works on a list"), ("{{ groups.web | map(attribute='nope') | join(',') }}", "item.nope"),
            ("{{ groups.web | first }}", "is a map"), ("{{ groups.web }}", "list of maps"),
            ("{% for h in groups.db %}{{ nope }}{% endfor %}", "nope"),
        ]
        for (text, message) in checks {
            #expect(try template(text).unresolved(in: Self.context).contains { $0.message.contains(message) }, "\(text)")
        }
        // The body of a loop over an empty group: its own variable cannot be checked, the rest can.
        #expect(try template("{% for h in groups.db %}{{ h.name }}{% endfor %}").unresolved(in: Self.context).isEmpty)
        #expect(try template("{% if 'web2' in groups.web %}in{% endif %}").render(Self.context, quoting: .plain).text == "in")
    }

    @Test func renderingIsBoundedAndErrorsInCRLFFilesAreWhereTheyAre() throws {
        let many = TemplateContext(variables: ["xs": .list((0..<1500).map { .int($0) })])
        let nested = try template("{% for a in xs %}{% for b in xs %}.{% endfor %}{% endfor %}")
        #expect(throws: TemplateError.self) { try nested.render(many, quoting: .plain) }
        // Refused at validate, not found out by the plan.
        #expect(nested.unresolved(in: many).contains { $0.message.contains("loop iterations") })
        #expect(try template("{{ groups.web | join(',') }}").unresolved(in: Self.context).contains { $0.message.contains("is a map") })
        #expect(try template("{{ groups.web | upper }}").unresolved(in: Self.context).contains { $0.message.contains("list of maps") })
        let problems = try template("a\r\nb\r\n  {{ nope }}\r\n").unresolved(in: Self.context)
        #expect(problems.map { "\($0.location.line):\($0.location.column)" } == ["3:6"], "\(problems)")
    }
}
