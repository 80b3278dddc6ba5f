import Engine
import Foundation
import GoliveTestSupport
import Playbook
import Testing

/// Real configuration built from a group: an nginx upstream block and an HAProxy backend list
/// rendered by a `template:` step onto the load balancer of the sandbox, then checked there by the
/// real `nginx -t` and `haproxy -c`.
@Suite(.serialized) struct TemplateConfigTests {
    let live: LiveHosts

    init() throws { live = try LiveHosts(count: 4, tiers: true) }

    @Test func nginxAndHAProxyAcceptWhatALoopOverTheWebGroupRenders() async throws {
        try """
            pid {{ app_dir }}/config/nginx.pid;
            error_log {{ app_dir }}/config/nginx-error.log;
            events {}
            http {
                access_log off;
                upstream app {
            {% for h in groups.web %}
                    server {{ h.address }}:{{ h.vars.http_port }} max_fails=3{% if loop.first %} backup{% endif %};
            {% endfor %}
                }
                server {
                    listen 127.0.0.1:18080;
                    location / { proxy_pass http://app; }
                }
            }

            """.write(toFile: live.directory + "/nginx.conf.tpl", atomically: true, encoding: .utf8)
        try """
            global
                maxconn 100
            defaults
                mode http
                timeout connect 5s
                timeout client 30s
                timeout server 30s
            frontend web
                bind 127.0.0.1:18081
                default_backend app
            backend app
                balance roundrobin
            {% for h in groups.web %}
                server {{ h.name }} {{ h.address }}:{{ h.vars.http_port }} check
            {% endfor %}

            """.write(toFile: live.directory + "/haproxy.cfg.tpl", atomically: true, encoding: .utf8)
        let play = try live.write(
            """
            name: balancer configuration
            hosts: lb
            deploy:
              - name: nginx upstreams
                template: { src: nginx.conf.tpl, dest: "{{ app_dir }}/config/nginx.conf" }
                rollback: none
              - name: haproxy backends
                template: { src: haproxy.cfg.tpl, dest: "{{ app_dir }}/config/haproxy.cfg" }
                rollback: none
              - name: nginx accepts it
                command: [nginx, -t, -q, -p, "{{ app_dir }}/config", -c, "{{ app_dir }}/config/nginx.conf"]
                rollback: none
              - name: haproxy accepts it
                command: [haproxy, -c, -q, -f, "{{ app_dir }}/config/haproxy.cfg"]
                rollback: none
            """, name: "balancer.yml")
        let (outcome, events) = try await live.execute(play)
        #expect(outcome.exitCode == 0, "\(outcome.reason ?? "") \(events.filter { $0.status == "failed" }.map { "\($0.stderr ?? "")" })")
        let config = try #require(live.host("lb1")).appDirectory + "/config"
        let web = live.hosts.filter { $0.name.hasPrefix("web") }
        let nginx = try String(contentsOfFile: config + "/nginx.conf", encoding: .utf8)
        let servers = nginx.split(separator: "\n").filter { $0.contains("server 127.0.0.1:") }.map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(servers == web.enumerated().map { "server \($1.address):\($1.httpPort) max_fails=3\($0 == 0 ? " backup" : "");" })
        #expect(!nginx.contains("\n\n    "), "no blank lines where the block tags were")
        let haproxy = try String(contentsOfFile: config + "/haproxy.cfg", encoding: .utf8)
        #expect(haproxy.split(separator: "\n").filter { $0.contains("server web") }.count == web.count)
    }
}
