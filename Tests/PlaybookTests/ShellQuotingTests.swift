import Foundation
import Playbook
import System
import Testing

/// Values placed into shell commands arrive byte-exact and never execute, wherever the
/// placeholder stands — bare, inside "...", inside '...', inside $(...), in a here-document —
/// through a real /bin/sh (dash) and bash; where no quoting can be safe, `validate` refuses.
@Suite struct ShellQuotingTests {
    /// The hostile corpus: each value must come out as it went in.
    static let values: [String] = [
        "$(touch MARK)", "`touch MARK`", "'", "\"", "\\", "a\nb", "; touch MARK", "&& touch MARK", "| touch MARK",
        "* ?", "-n", "--help", "ünïcødé ☃ 日本", "'\"$(touch MARK)\"'", "\\$(touch MARK)", "$HOME", "!!", "a\rb",
        "tab\there", "%s%n", "'; touch MARK; echo '", "\"; touch MARK; echo \"", "\\'", "$((1+1))", "${HOME}",
        "a'b\"c`d$e\\f", "\n", "", " leading and trailing ", "#not a comment", "~", "x\ny\nEOF", "EOF2x",
        String(repeating: "x'$(touch MARK)\"", count: 62_500),  // 1 MB
    ]

    /// Templates and what the value should look like in their output.
    static let contexts: [(name: String, template: String, expected: @Sendable (String) -> String)] = [
        ("bare", "printf '%s' {{ v }}", { $0 }),
        ("bare inside a word", "printf '%s' pre{{ v }}post", { "pre\($0)post" }),
        ("double quotes", "printf '%s' \"{{ v }}\"", { $0 }),
        ("double quotes with text", "printf '%s' \"deploying {{ v }} now\"", { "deploying \($0) now" }),
        ("single quotes", "printf '%s' 'x{{ v }}y'", { "x\($0)y" }),
        ("command substitution", "printf '%s' \"$(printf '%s.' {{ v }})\"", { "\($0)." }),
        ("substitution in quotes", "printf '%s' \"$(printf '%s.' \"{{ v }}\")\"", { "\($0)." }),
        ("here-document", "cat <<EOF\n{{ v }}\nEOF", { "\($0)\n" }),
        ("quoted here-document", "cat <<'EOF'\n{{ v }}\nEOF", { "\($0)\n" }),
        ("here-string (bash)", "cat <<< {{ v }}", { "\($0)\n" }),
        ("case word and pattern", "case {{ v }} in {{ v }}) printf '%s' {{ v }};; *) printf no;; esac", { $0 }),
        // A comment ends at its line: a value with newlines must not end it early.
        ("comment", "printf '%s' x # {{ v }}\nprintf '%s' y", { _ in "xy" }),
        ("comment after a quote", "printf '%s' \"a#b\" # it's {{ v }} now\nprintf '%s' y", { _ in "a#by" }),
        ("word with a hash", "printf '%s' a#{{ v }}", { "a#\($0)" }),
    ]

    func run(_ shell: String, _ script: String, in directory: String) throws -> String {
        let file = directory + "/script.sh"
        try script.write(toFile: file, atomically: true, encoding: .utf8)
        let output = directory + "/out"
        let (status, text) = try ChildProcess.run(shell, ["-c", "cd \(directory) && \(shell) script.sh > out"])
        #expect(status == 0, "\(shell): \(text.prefix(300))")
        return (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
    }

    @Test(arguments: ["/bin/sh", "/bin/bash"])
    func everyValueArrivesByteExactAndNothingRuns(shell: String) throws {
        let directory = FileManager.default.temporaryDirectory.path + "/golive-quoting-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var checked = 0
        for (name, source, expected) in Self.contexts where shell.hasSuffix("bash") || !name.hasSuffix("(bash)") {
            let template = try Template.parse(fileText: source, file: "test.yml")
            #expect(template.shellDiagnostics.isEmpty, "\(name)")
            for value in Self.values {
                let rendered: RenderedText
                do {
                    rendered = try template.render(TemplateContext(variables: ["v": .string(value)]), quoting: .shell)
                } catch {
                    // Only a value holding the here-document's delimiter line may be refused, and it must be.
                    #expect(name.contains("here-document") && value.split(separator: "\n").contains("EOF"), "\(name) \(value.prefix(40)): \(error)")
                    continue
                }
                #expect(!(name.contains("here-document") && value.split(separator: "\n").contains("EOF")), "\(name): the delimiter line got through")
                let output = try run(shell, rendered.text, in: directory)
                let want = expected(value)
                #expect(output == want, "\(shell) \(name): \(value.debugDescription.prefix(60)) came out as \(output.debugDescription.prefix(60))")
                #expect(!FileManager.default.fileExists(atPath: directory + "/MARK"), "\(shell) \(name): \(value.prefix(60)) executed")
                try? FileManager.default.removeItem(atPath: directory + "/MARK")
                checked += 1
            }
        }
        #expect(checked >= (Self.contexts.count - 1) * (Self.values.count - 1))
    }

    @Test func placesNoQuotingCanMakeSafeAreRefusedWithTheirLocation() throws {
        let refused = [
            ("echo `cat {{ v }}`", "backticks"), ("echo \\{{ v }}", "backslash"), ("echo $(( {{ v }} + 1 ))", "$(( ))"),
            ("echo ${HOME:-{{ v }}}", "${...}"), ("echo \"`echo {{ v }}`\"", "backticks"),
            ("(( {{ v }} > 1 ))", "arithmetic"), ("echo $[ {{ v }} + 1 ]", "arithmetic"), ("[[ {{ v }} -eq 1 ]]", "[[ ]]"),
            ("echo $'a{{ v }}'", "$'...'"), ("echo $HOME{{ v }}", "$NAME"), ("echo ${{ v }}", "after '$'"),
            ("a[{{ v }}]=1", "subscript"), ("let x={{ v }}", "'let'"), ("declare -i n={{ v }}", "'declare'"),
            ("read {{ v }}", "'read'"), ("printf -v {{ v }} x", "printf -v"),
        ]
        for (source, words) in refused {
            let template = try Template.parse(fileText: source, file: "play.yml")
            let problems = template.shellDiagnostics
            #expect(problems.count == 1 && problems.first?.isError == true && problems.first?.message.contains(words) == true, "\(source): \(problems.map(\.message))")
            #expect(problems.first?.location.column == (source.distance(from: source.startIndex, to: source.range(of: "{{")!.lowerBound) + 1), "\(source)")
            #expect(throws: TemplateError.self) { _ = try template.render(TemplateContext(variables: ["v": .string("x")]), quoting: .shell) }
        }
    }

    @Test func aValueASecondShellParsesAgainIsWarnedAbout() throws {
        for source in [
            "bash -c 'echo {{ v }}'", "sh -c \"echo {{ v }}\"", "su deploy -c 'echo {{ v }}'", "ssh db1 'echo {{ v }}'",
            "eval \"echo {{ v }}\"", "sudo sh -c 'echo {{ v }}'", "/bin/bash -lc 'x {{ v }}'",
            "echo {{ v }} | bash", "printf '%s' {{ v }} | sudo -u app sh", "python3 -c 'print({{ v }})'", "bash <<EOF\necho {{ v }}\nEOF", "echo {{ v }} | python3",
        ] {
            let problems = try Template.parse(fileText: source, file: "play.yml").shellDiagnostics
            #expect(problems.count == 1 && !problems[0].isError && problems[0].message.contains("second shell"), "\(source): \(problems.map(\.message))")
        }
        for source in ["bashful {{ v }}", "printf '%s' 'bash -c {{ v }}'", "echo -c {{ v }}", "echo {{ v }} | grep sh", "cat <<EOF\n{{ v }}\nEOF",
            "test \"$(df -Pk {{ v }} | awk 'NR==2{print $4}')\" -gt 1", "cat {{ v }} | sudo tee /etc/x", "echo {{ v }} | python3 script.py",
        ] {
            let problems = try Template.parse(fileText: source, file: "play.yml").shellDiagnostics
            #expect(problems.isEmpty, "\(source): \(problems.map(\.message))")
        }
    }

    @Test func quoteIsTheLastTransformationWhateverTheFilterChain() throws {
        let hostile = "a/$(touch MARK)'"
        for source in ["{{ v | quote | basename }}", "{{ v | quote | upper }}", "{{ v | quote | trim }}", "{{ v | basename | quote }}"] {
            let template = try Template.parse(fileText: "printf '%s' " + source, file: "play.yml")
            let rendered = try template.render(TemplateContext(variables: ["v": .string(hostile)]), quoting: .shell)
            let (status, output) = try ChildProcess.run("/bin/sh", ["-c", "cd /tmp && " + rendered.text])
            #expect(status == 0 && output.lowercased().hasSuffix("(touch mark)'") || output == hostile, "\(source): \(rendered.text) → \(output)")
            #expect(!FileManager.default.fileExists(atPath: "/tmp/MARK"), "\(source) executed")
        }
        // Outside a shell command, `quote` makes one shell word of the final value.
        let plain = try Template.parse(fileText: "{{ v | quote | basename }}", file: "f").render(
            TemplateContext(variables: ["v": .string("dir/it's")]), quoting: .plain)
        #expect(plain.text == "'it'\\''s'")
    }

    @Test func rawIsWarnedAboutWithItsLocation() throws {
        let problems = try Template.parse(fileText: "echo {{ cmd | raw }}", file: "play.yml").shellDiagnostics
        #expect(problems.count == 1 && !problems[0].isError && problems[0].message.contains("| raw") && problems[0].location.column == 6)
    }
}
