import Foundation

/// The PostgreSQL store's password, from where libpq users keep it: `GOLIVE_STORE_PASSWORD`, else
/// `PGPASSWORD`, else the first matching line of the password file (`PGPASSFILE`, else
/// `~/.pgpass`: `host:port:database:user:password`, `*` matching anything, `\:` and `\\` escaped).
/// A password file others can read is ignored, as libpq ignores it, and said so. The password is
/// only ever handed to the connection: never printed, never recorded.
public enum PostgresCredentials {
    /// The password for `address`, if one is given, and a warning to show when the file was ignored.
    public static func password(
        for address: PostgresAddress, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> (password: String?, warning: String?) {
        if let password = environment["GOLIVE_STORE_PASSWORD"], !password.isEmpty { return (password, nil) }
        if let password = environment["PGPASSWORD"], !password.isEmpty { return (password, nil) }
        let home = environment["HOME"] ?? NSHomeDirectory()
        let file = environment["PGPASSFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.pgpass"
        var info = stat()
        guard stat(file, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return (nil, nil) }
        if info.st_mode & 0o077 != 0 {
            return (
                nil,
                "warning: password file \(file) has group or world access (mode \(String(info.st_mode & 0o777, radix: 8))); ignored: make it 0600"
            )
        }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return (nil, nil) }
        return (match(text, address), nil)
    }

    /// The password of the first line of a password file's `text` that matches `address`.
    static func match(_ text: String, _ address: PostgresAddress) -> String? {
        let wanted = [address.host, String(address.port), address.database, address.user]
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            let fields = split(String(line))
            guard fields.count == 5 else { continue }
            let matches = zip(fields.prefix(4), wanted).allSatisfy { field, value in
                field == "*" || field == value
            }
            if matches { return fields[4] }
        }
        return nil
    }

    /// A password file line's fields: split at unescaped `:`, with `\:` and `\\` unescaped.
    static func split(_ line: String) -> [String] {
        var fields: [String] = []
        var current = ""
        var escaped = false
        for character in line {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == ":" && fields.count < 4 {
                fields.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        fields.append(current)
        return fields
    }
}
