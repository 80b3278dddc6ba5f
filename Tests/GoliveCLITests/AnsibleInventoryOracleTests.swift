import Foundation
import Synchronization
import GoliveTestSupport
import Testing

/// golive's reading of Ansible inventories, checked against Ansible's own: for every inventory of
/// a corpus, `golive inventory --list --json` and `ansible-inventory --list` must agree host by
/// host, group by group and variable by variable, and `--limit` against `ansible --list-hosts`.
/// Where golive deliberately differs, the case names the variable and why (docs/inventory.md).
///
/// The suite takes longer than 30 s: Ansible's commands start a Python interpreter each (about a
/// second), and the first run installs ansible-core into `.build/ansible-oracle`.
@Suite(.serialized) struct AnsibleInventoryOracleTests {
    let golive = GoliveBinary()

    struct Case: Sendable {
        var name: String
        var files: [String: String]
        /// `-i` sources, relative to the case's directory.
        var sources: [String]
        /// Both refuse the inventory.
        var refused = false
        /// Variables golive shows differently on purpose, and why.
        var differences: [String: String] = [:]
        var patterns: [String] = []
    }

    static let corpus: [Case] = [
        Case(
            name: "ini-basic",
            files: ["hosts": #"""
                solo ansible_host=192.0.2.1
                [web]
                web1
                web2 ansible_host=192.0.2.12
                [db]
                db1
                """#], sources: ["hosts"], patterns: ["web", "all:!db", "web,db", "solo"]),
        Case(
            name: "ini-children",
            files: ["hosts.ini": #"""
                [web]
                web1
                [api]
                api1
                [frontend:children]
                web
                api
                [prod:children]
                frontend
                db
                [db]
                db1
                [prod:vars]
                tier=prod
                [frontend:vars]
                tier=frontend
                """#], sources: ["hosts.ini"], patterns: ["prod:!api", "frontend:&web", "prod"]),
        Case(
            name: "ini-typing",
            files: ["hosts": #"""
                [t]
                t1 a=1 b=0x1F c=1.5 d=True e=None f="two words" g='quoted' h=[1,2,'x'] i={'k':1,'j':[True]} j=yes k=-3 l=1_000 m=(1,2) n='a''b'
                [t:vars]
                v1=42
                v2=False
                v3=some text here
                v4="0755"
                v5=0o17
                v6=1e3
                v7=.5
                v8=[]
                v9={}
                """#], sources: ["hosts"]),
        Case(
            name: "ini-ranges",
            files: ["hosts": #"""
                [web]
                web[01:05].example.com
                [db]
                db-[a:c]
                [odd]
                node[1:9:2]
                [multi]
                r[1:2]-[x:y]
                [lower]
                w[:2]
                """#], sources: ["hosts"], patterns: ["web[0:1]", "web[-1]", "web[3:]", "~db-[ab]", "odd[2]", "node?", "r1-*", "web[1-2]", "web[2-]", "~.*"]),
        Case(
            name: "ini-host-port",
            files: ["hosts": #"""
                [web]
                web1:2222
                web2:2200 ansible_user=deploy
                web3 ansible_port=2022
                """#], sources: ["hosts"]),
        Case(
            name: "ini-comments",
            files: ["hosts": #"""
                # a comment
                ; another comment
                [web] # the web tier
                web1 x=1 # trailing
                   web2   y=2
                [web:vars]
                z=3 # a Python comment
                # [notagroup]
                """#], sources: ["hosts"]),
        Case(
            name: "ini-quoting",
            files: ["hosts": #"""
                [q]
                q1 a="x y" b='p q' c=x\ y d="say \"hi\"" e='it''s' f="a#b" g=a=b h="" i=''
                """#], sources: ["hosts"]),
        Case(
            name: "ini-unicode",
            files: ["hosts": #"""
                [städte]
                zürich1 city=Zürich motto="Grüezi wohl" emoji=🚀
                [städte:vars]
                land=Schweiz
                """#], sources: ["hosts"], patterns: ["städte", "zür*"]),
        Case(
            name: "ini-precedence-depth",
            files: ["hosts": #"""
                [all:vars]
                v=all
                only_all=1
                [parent:children]
                child
                [parent:vars]
                v=parent
                p=1
                [child]
                h1
                h2 v=host
                [child:vars]
                v=child
                """#], sources: ["hosts"]),
        Case(
            name: "ini-priority",
            files: ["hosts": #"""
                [a]
                h1
                [b]
                h1
                [c]
                h1
                [a:vars]
                v=a
                ansible_group_priority=10
                [b:vars]
                v=b
                [c:vars]
                v=c
                w=c
                [b:vars]
                w=b
                """#], sources: ["hosts"]),
        Case(
            name: "ini-same-depth-by-name",
            files: ["hosts": #"""
                [zeta]
                h1
                [alpha]
                h1
                [zeta:vars]
                v=zeta
                [alpha:vars]
                v=alpha
                """#], sources: ["hosts"]),
        Case(
            name: "ini-group-vars",
            files: [
                "inv/hosts": #"""
                [web]
                web1 own=inline
                web2
                [web:vars]
                from_file=ini
                shared=ini
                """#,
                "inv/group_vars/all.yml": "shared: all\nall_only: true\n",
                "inv/group_vars/web.yml": "from_file: group_vars\nlist: [1, 2]\n",
                "inv/host_vars/web1.yml": "own: host_vars\nport: 8080\n",
            ], sources: ["inv/hosts"]),
        Case(
            name: "group-vars-beat-inventory-group-vars",
            files: [
                "hosts": "[web]\nweb1\n[web:vars]\nv=ini_group\n[all:vars]\nu=ini_all\n",
                "group_vars/all": "v: group_vars_all\nu: group_vars_all\n",
            ], sources: ["hosts"]),
        Case(
            name: "group-vars-directory",
            files: [
                "hosts": "[web]\nweb1\n[db]\ndb1\n",
                "group_vars/web/01-base.yml": "a: base\nb: base\n",
                "group_vars/web/02-override.yaml": "b: override\n",
                "group_vars/web/nested/03.yml": "c: nested\n",
                "group_vars/web/README.md": "a: ignored\n",
                "group_vars/web/.hidden.yml": "a: hidden\n",
                "group_vars/db.json": #"{"engine": "postgres", "replicas": 2}"#,
                "host_vars/db1": "role: primary\n",
            ], sources: ["hosts"]),
        Case(
            name: "yaml-basic",
            files: ["inventory.yml": #"""
                all:
                  hosts:
                    solo:
                      ansible_host: 192.0.2.9
                  vars:
                    app: billing
                  children:
                    web:
                      hosts:
                        web1:
                        web2: { http_port: 8080 }
                      vars:
                        http_port: 80
                    db:
                      hosts:
                        db1:
                """#], sources: ["inventory.yml"], patterns: ["web:db", "all:!web", "ungrouped"]),
        Case(
            name: "yaml-nested",
            files: ["inventory.yaml": #"""
                all:
                  children:
                    prod:
                      vars: { level: prod }
                      children:
                        frontend:
                          vars: { level: frontend }
                          children:
                            web:
                              vars: { level: web }
                              hosts: { web1: , web2: { level: host } }
                        backend:
                          hosts:
                            api1:
                    staging:
                      hosts:
                        stg1:
                """#], sources: ["inventory.yaml"], patterns: ["prod:&frontend", "prod:!web2", "~(web|api)1"]),
        Case(
            name: "yaml-ranges",
            files: ["inventory.yml": #"""
                all:
                  children:
                    web:
                      hosts:
                        web[1:3]:
                          role: web
                        "edge-[a:b]":
                """#], sources: ["inventory.yml"], patterns: ["web[1]", "web[0:1]"]),
        Case(
            name: "yaml-typing",
            files: ["inventory.yml": #"""
                all:
                  hosts:
                    t1:
                      y1: yes
                      y2: on
                      y3: "yes"
                      n1: 0x1F
                      n2: 017
                      n3: 1_000
                      n4: 1:30
                      f1: 1.5
                      f2: 1e3
                      f3: -2.5
                      s1: ~
                      s2: null
                      s3: 'single'
                      s4: "esc\tape"
                      l1: [1, two, "3"]
                      m1: { a: 1, b: [x, y] }
                      s5: >-
                        folded
                        text
                      z1: 08
                      z2: 0018
                      t1: !!str 5
                      base: &base { a: 1, b: 2 }
                      merged: { <<: *base, b: 3, c: 4 }
                      q1: !!int "12"
                      q2: !!null ''
                      q3: 190:20:30.15
                """#], sources: ["inventory.yml"]),
        Case(
            name: "crlf-line-endings", files: ["hosts": "[web]\r\nweb1 x=1\r\nweb2\r\n[db]\r\ndb1 y='a b'\r\n"], sources: ["hosts"],
            patterns: ["web"]),
        Case(
            name: "ansible-order",
            files: ["hosts": "zeta\n[web]\nw9\nw1\n[db]\nd5\nw1\nd0\n[prod:children]\ndb\nweb\n[prod]\np1\n"], sources: ["hosts"],
            patterns: ["~.*", "all", "prod", "*", "w*:d*", "prod:!w9", "~^d"]),
        Case(
            name: "group-in-all-and-elsewhere",
            files: ["inventory.yml": "all:\n  children:\n    web:\n      hosts: { w1: }\n    prod:\n      children:\n        web:\n      hosts: { p1: }\n"],
            sources: ["inventory.yml"], patterns: ["prod", "prod:&web", "~[wp]"]),
        Case(
            name: "ini-tuples-and-sets", files: ["hosts": "[t]\nt1 n=True,False m=1,2, s=set() big=12\n"], sources: ["hosts"]),
        Case(
            name: "other-password-variables",
            files: ["hosts": "[web]\nh1 ansible_su_pass=su-secret-1 ansible_private_key_passphrase=pp-secret-2 ansible_winrm_password=wr-secret-3\n"],
            sources: ["hosts"],
            differences: [
                "ansible_su_pass": "a password is a secret", "ansible_private_key_passphrase": "a passphrase is a secret",
                "ansible_winrm_password": "a password is a secret",
            ]),
        Case(
            name: "subscripts-over-several-groups",
            files: ["hosts": "solo\n[webz]\nzeta\nmid\n[weba]\nalpha\nmid\nbeta\n[web:children]\nwebz\nweba\n"], sources: ["hosts"],
            patterns: ["web*[1:]", "web*[-1]", "web*[4]", "all[0]", "all[-1]", "all[1:]", "*[2]", "webz:weba[0]"]),
        Case(
            name: "ansible-magic-variables-left-out",
            files: ["hosts": "[web]\nw1 inventory_hostname=fake group_names=x hostvars=y omit=z playbook_dir=/p kept=1\n"], sources: ["hosts"]),
        Case(
            name: "ungrouped-first",
            files: ["inventory.yml": "all:\n  children:\n    zz:\n      hosts: { z1: }\n  hosts:\n    lone:\n"], sources: ["inventory.yml"]),
        Case(
            name: "all-children-in-ini", files: ["hosts": "[all:children]\nzz\n[zz]\nz1\n[aa]\na1\n"], sources: ["hosts"]),
        Case(
            name: "secrets-by-name",
            files: ["hosts": "[web]\nw1 db_password=plain-db-pw api_token=tok-12345 note=public\n"], sources: ["hosts"],
            differences: ["db_password": "named as a secret: golive keeps it as one", "api_token": "named as a secret: golive keeps it as one"]),
        Case(name: "yaml-number-as-host-name", files: ["inventory.yml": "all:\n  hosts:\n    123:\n"], sources: ["inventory.yml"], refused: true),
        Case(
            name: "yaml-many-groups",
            files: ["inventory.yml": #"""
                all:
                  children:
                    web:
                      hosts:
                        h1: { from_web: 1 }
                      vars: { v: web }
                    canary:
                      hosts:
                        h1: { from_canary: 1 }
                      vars: { v: canary }
                """#], sources: ["inventory.yml"], patterns: ["web:&canary", "canary"]),
        Case(
            name: "directory",
            files: [
                "inv/10-hosts.ini": "[web]\nweb1\n",
                "inv/20-more.yml": "all:\n  children:\n    db:\n      hosts:\n        db1:\n",
                "inv/README.md": "[notes]\nnot-a-host\n",
                "inv/old.bak": "[old]\nold1\n",
                "inv/.hidden": "[hidden]\nhidden1\n",
                "inv/group_vars/all.yml": "env_name: staging\n",
                "inv/group_vars/db.yml": "engine: postgres\n",
                "inv/host_vars/web1.yml": "weight: 3\n",
            ], sources: ["inv"], patterns: ["all", "db"]),
        Case(
            name: "two-sources-merged",
            files: [
                "a.ini": "[web]\nweb1 x=a\n[web:vars]\ng=a\n",
                "b.yml": "all:\n  children:\n    web:\n      hosts:\n        web1: { x: b }\n        web2:\n      vars:\n        g: b\n",
            ], sources: ["a.ini", "b.yml"], patterns: ["web"]),
        Case(
            name: "connection-variables",
            files: ["hosts": #"""
                [web]
                web1 ansible_host=10.0.0.11 ansible_port=2222 ansible_user=deploy ansible_ssh_private_key_file=~/.ssh/id_ed25519
                web2 ansible_host=10.0.0.12 ansible_ssh_common_args='-o ProxyJump=bastion'
                [edge]
                bastion ansible_host=203.0.113.7
                [web:vars]
                ansible_become=true
                ansible_become_user=root
                ansible_become_method=sudo
                ansible_become_password=plain-text-pw
                ansible_python_interpreter=/usr/bin/python3
                """#], sources: ["hosts"],
            differences: ["ansible_become_password": "a password is a secret: golive shows it as ••••"]),
        Case(
            name: "local-connection",
            files: ["hosts": "localhost ansible_connection=local\n[web]\nweb1\n"], sources: ["hosts"]),
        Case(
            name: "empty-and-vars-only-groups",
            files: ["hosts": "[empty]\n[only_vars:vars]\nx=1\n[only_vars]\n[web]\nweb1\n"], sources: ["hosts"]),
        Case(name: "cycle-ini", files: ["hosts": "[a:children]\nb\n[b:children]\na\n"], sources: ["hosts"], refused: true),
        Case(
            name: "cycle-yaml",
            files: ["inventory.yml": "all:\n  children:\n    a:\n      children:\n        b:\n          children:\n            a:\n"],
            sources: ["inventory.yml"], refused: true),
        Case(name: "undefined-child", files: ["hosts": "[a:children]\nmissing\n[a:vars]\nx=1\n"], sources: ["hosts"], refused: true),
        Case(name: "unknown-section-type", files: ["hosts": "[web:hostz]\nweb1\n"], sources: ["hosts"], refused: true),
        Case(name: "bad-range-width", files: ["hosts": "[web]\nweb[01:5]\n"], sources: ["hosts"], refused: true),
        Case(name: "bad-range-parts", files: ["hosts": "[web]\nweb[1:2:3:4]\n"], sources: ["hosts"], refused: true),
        Case(name: "unclosed-quote", files: ["hosts": "[web]\nweb1 x=\"open\n"], sources: ["hosts"], refused: true),
        Case(name: "semicolon-is-no-comment-on-a-host-line", files: ["hosts": "[web]\nweb1 x=1 ;note\n"], sources: ["hosts"], refused: true),
        Case(name: "vars-for-undefined-group", files: ["hosts": "[ghost:vars]\nx=1\n"], sources: ["hosts"], refused: true),
    ]

    @Test func theCorpusHasEnoughInventories() {
        #expect(Self.corpus.count >= 25)
        #expect(Self.corpus.filter(\.refused).count >= 5)
    }

    /// Writes a case's files into a fresh directory.
    static func materialize(_ item: Case) throws -> String {
        let directory = NSTemporaryDirectory() + "golive-oracle-\(item.name)-\(UUID().uuidString.prefix(8))"
        for (path, text) in item.files {
            let full = directory + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: true, encoding: .utf8)
        }
        return directory
    }

    /// A JSON value in one canonical text (booleans and numbers kept apart).
    static func canonical(_ value: Any?) -> String {
        guard let value else { return "<absent>" }
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]) else { return "\(value)" }
        return String(decoding: data, as: UTF8.self)
    }

    struct Listing {
        var groups: [String: (hosts: Set<String>, children: Set<String>)] = [:]
        var hostvars: [String: [String: Any]] = [:]
        var hosts: Set<String> = []

        init(json: String) throws {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], "not JSON: \(json.prefix(500))")
            for (name, entry) in object where name != "_meta" {
                let entry = entry as? [String: Any] ?? [:]
                let hosts = Set(entry["hosts"] as? [String] ?? [])
                groups[name] = (hosts, Set(entry["children"] as? [String] ?? []))
                self.hosts.formUnion(hosts)
            }
            let meta = object["_meta"] as? [String: Any] ?? [:]
            hostvars = meta["hostvars"] as? [String: [String: Any]] ?? [:]
        }
    }

    @Test func goliveReadsEveryInventoryOfTheCorpusAsAnsibleDoes() throws {
        let oracle = try AnsibleOracle()
        let golive = self.golive
        let results = Mutex<[String: [String]]>([:])
        DispatchQueue.concurrentPerform(iterations: Self.corpus.count) { index in
            let item = Self.corpus[index]
            var problems: [String] = []
            defer { results.withLock { $0[item.name] = problems } }
            do {
                let directory = try Self.materialize(item)
                defer { try? FileManager.default.removeItem(atPath: directory) }
                let sources = item.sources.flatMap { ["-i", directory + "/" + $0] }
                let theirs = try oracle.run("ansible-inventory", sources + ["--list"])
                let ours = try AnsibleOracle.capture(golive.path, ["inventory"] + sources + ["--list", "--json"])
                if item.refused {
                    if theirs.status == 0 { problems.append("Ansible accepted it: \(theirs.stdout.prefix(300))") }
                    if ours.status != 2 { problems.append("golive exited \(ours.status), not 2: \(ours.stderr)") }
                    if !ours.stderr.contains(directory) || ours.stderr.range(of: #":\d+:\d+: error"#, options: .regularExpression) == nil {
                        problems.append("golive's error names no FILE:LINE:COL: \(ours.stderr)")
                    }
                    return
                }
                guard theirs.status == 0 else { return problems.append("Ansible refused it: \(theirs.stderr)") }
                guard ours.status == 0 else { return problems.append("golive refused it (\(ours.status)): \(ours.stderr)") }
                let expected = try Listing(json: theirs.stdout)
                let actual = try Listing(json: ours.stdout)
                if expected.hosts != actual.hosts { problems.append("hosts: Ansible \(expected.hosts.sorted()), golive \(actual.hosts.sorted())") }
                for name in Set(expected.groups.keys).union(actual.groups.keys) {
                    let (a, b) = (expected.groups[name], actual.groups[name])
                    if a?.hosts != b?.hosts || a?.children != b?.children {
                        problems.append(
                            "group \(name): Ansible \(a.map { "\($0.hosts.sorted()) children \($0.children.sorted())" } ?? "absent"), "
                                + "golive \(b.map { "\($0.hosts.sorted()) children \($0.children.sorted())" } ?? "absent")")
                    }
                }
                for host in Set(expected.hostvars.keys).union(actual.hostvars.keys) {
                    let (a, b) = (expected.hostvars[host] ?? [:], actual.hostvars[host] ?? [:])
                    for key in Set(a.keys).union(b.keys) {
                        if item.differences[key] != nil {
                            if Self.canonical(b[key]) != Self.canonical("••••") { problems.append("\(host).\(key): golive shows \(Self.canonical(b[key]))") }
                            continue
                        }
                        let (x, y) = (Self.canonical(a[key]), Self.canonical(b[key]))
                        if x != y { problems.append("\(host).\(key): Ansible \(x), golive \(y)") }
                    }
                }
                // The tree as Ansible draws it, line for line (groups' and hosts' order included).
                let theirGraph = try oracle.run("ansible-inventory", sources + ["--graph"])
                let ourGraph = try AnsibleOracle.capture(golive.path, ["inventory"] + sources + ["--graph"])
                if theirGraph.stdout.trimmingCharacters(in: .whitespacesAndNewlines) != ourGraph.stdout.trimmingCharacters(in: .whitespacesAndNewlines) {
                    problems.append("--graph: Ansible\n\(theirGraph.stdout)\ngolive\n\(ourGraph.stdout)")
                }
                for pattern in item.patterns {
                    let listed = try oracle.run("ansible", sources + [pattern, "--list-hosts"])
                    let names = listed.stdout.split(separator: "\n").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                    let limited = try AnsibleOracle.capture(golive.path, ["inventory"] + sources + ["--limit", pattern, "--list", "--json"])
                    let object = try JSONSerialization.jsonObject(with: Data(limited.stdout.utf8)) as? [String: Any]
                    let order = ((object?["_meta"] as? [String: Any])?["golive"] as? [String: Any])?["order"] as? [String] ?? []
                    // The order too: it is the order batches roll in.
                    if names != order { problems.append("--limit '\(pattern)': Ansible \(names), golive \(order) \(limited.stderr)") }
                }
            } catch {
                problems.append("\(error)")
            }
        }
        let all = results.withLock { $0 }
        #expect(all.count == Self.corpus.count)
        for (name, problems) in all.sorted(by: { $0.key < $1.key }) where !problems.isEmpty {
            let text = problems.joined(separator: "\n  ")
            Issue.record("\(name):\n  \(text)")
        }
    }
}
