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
        try await request("GET", url, timeout: timeout)
    }

    /// Sends an HTTP request; `shownURL` is what messages name (a URL may hold a token).
    ///
    /// - Throws: a message when the request fails (refused, timed out, bad URL).
    public static func request(
        _ method: String, _ url: String, headers: [String: String] = [:], body: Data? = nil, timeout: Duration, shownURL: String? = nil,
        followRedirects: Bool = true
    ) async throws -> HTTPResponse {
        let shown = shownURL ?? url
        guard let target = URL(string: url), target.scheme == "http" || target.scheme == "https" else {
            throw CheckError(message: "'\(shown)' is not an http(s) URL")
        }
        var request = URLRequest(url: target)
        request.timeoutInterval = max(0.2, timeout.seconds)
        request.httpMethod = method
        request.httpBody = body
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = max(0.2, timeout.seconds)
        configuration.timeoutIntervalForResource = max(0.2, timeout.seconds)
        // A redirect may lead anywhere, headers (and secrets) and all: not followed when asked not to.
        let session = URLSession(configuration: configuration, delegate: followRedirects ? nil : NoRedirects(), delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        return try await withCheckedThrowingContinuation { continuation in
            let task = session.dataTask(with: request) { data, response, error in
                if let error {
                    continuation.resume(throwing: CheckError(message: "\(method) \(shown): \(error.localizedDescription)"))
                    return
                }
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                let body = String(decoding: (data ?? Data()).prefix(1 << 20), as: UTF8.self)
                continuation.resume(returning: HTTPResponse(status: status, body: body))
            }
            task.resume()
        }
    }

    /// Connects to `host:port` and closes; throws when it cannot within `timeout`. The connect is
    /// non-blocking and polled between short sleeps: no thread waits on it.
    public static func tcp(host: String, port: Int, timeout: Duration) async throws {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else {
            throw CheckError(message: "tcp \(host):\(port): cannot resolve \(host)")
        }
        defer { freeaddrinfo(result) }
        let fd = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw CheckError(message: "tcp \(host):\(port): socket() failed") }
        defer { close(fd) }
        if Glibc.connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 { return }
        guard errno == EINPROGRESS else { throw CheckError(message: "tcp \(host):\(port): \(String(cString: strerror(errno)))") }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var pause = Duration.milliseconds(1)
        while true {
            var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            if poll(&descriptor, 1, 0) > 0 { break }
            if Task.isCancelled { throw CheckError(message: "tcp \(host):\(port): cancelled") }
            if ContinuousClock.now >= deadline { throw CheckError(message: "tcp \(host):\(port): no answer within \(timeout)") }
            try? await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(20))
        }
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
        if code != 0 { throw CheckError(message: "tcp \(host):\(port): \(String(cString: strerror(code)))") }
    }
}

/// A failed controller-side check.
public struct CheckError: Error, Sendable, CustomStringConvertible {
    /// What failed.
    public var message: String
    public var description: String { message }
}

/// Refuses every redirect: the response is the 3xx itself.
final class NoRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse, newRequest request: URLRequest,
        completionHandler: @escaping (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }
}
