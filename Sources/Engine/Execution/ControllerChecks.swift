import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// Checks made from the controller: HTTP requests and TCP connects.
public enum ControllerChecks {
    /// The result of an HTTP request.
    public struct HTTPResponse: Sendable {
        /// Status code.
        public var status: Int
        /// Body (at most 1 MB).
        public var body: String
    }

    /// GETs a URL.
    ///
    /// - Throws: a message when the request fails (refused, timed out, bad URL).
    public static func get(_ url: String, timeout: Duration) async throws -> HTTPResponse {
        guard let target = URL(string: url), target.scheme == "http" || target.scheme == "https" else {
            throw CheckError(message: "'\(url)' is not an http(s) URL")
        }
        var request = URLRequest(url: target)
        request.timeoutInterval = max(0.2, timeout.seconds)
        request.httpMethod = "GET"
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = max(0.2, timeout.seconds)
        configuration.timeoutIntervalForResource = max(0.2, timeout.seconds)
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        return try await withCheckedThrowingContinuation { continuation in
            let task = session.dataTask(with: request) { data, response, error in
                if let error {
                    continuation.resume(throwing: CheckError(message: "GET \(url): \(error.localizedDescription)"))
                    return
                }
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                let body = String(decoding: (data ?? Data()).prefix(1 << 20), as: UTF8.self)
                continuation.resume(returning: HTTPResponse(status: status, body: body))
            }
            task.resume()
        }
    }

    /// Connects to `host:port` and closes; throws when it cannot within `timeout`.
    public static func tcp(host: String, port: Int, timeout: Duration) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let thread = Thread {
                if let message = connect(host: host, port: port, timeout: timeout) {
                    continuation.resume(throwing: CheckError(message: message))
                } else {
                    continuation.resume()
                }
            }
            thread.stackSize = 256 * 1024
            thread.start()
        }
    }

    private static func connect(host: String, port: Int, timeout: Duration) -> String? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else {
            return "tcp \(host):\(port): cannot resolve \(host)"
        }
        defer { freeaddrinfo(result) }
        let fd = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return "tcp \(host):\(port): socket() failed" }
        defer { close(fd) }
        if Glibc.connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 { return nil }
        guard errno == EINPROGRESS else { return "tcp \(host):\(port): \(String(cString: strerror(errno)))" }
        var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let milliseconds = Int32(max(1, timeout.seconds * 1000))
        let ready = poll(&descriptor, 1, milliseconds)
        if ready == 0 { return "tcp \(host):\(port): no answer within \(timeout)" }
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
        return code == 0 ? nil : "tcp \(host):\(port): \(String(cString: strerror(code)))"
    }
}

/// A failed controller-side check.
public struct CheckError: Error, Sendable, CustomStringConvertible {
    /// What failed.
    public var message: String
    public var description: String { message }
}
