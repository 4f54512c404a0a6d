import Foundation
import GridlineFFI

/// Carries Gridline's requests over the app's own `URLSession`, so its configuration (proxies,
/// certificate pinning in the delegate, protocol classes) applies. No retries of its own: the
/// sync engine decides. `send` awaits the session's async `bytes(for:)`, so no thread waits for
/// the answer, and a cancelled sync (the native side cancels this task) cancels the data task.
/// It reads at most one byte past the core's `maxResponseBytes`.
public final class URLSessionTransport: HttpTransport, Sendable {
    private let session: URLSession

    /// Uses `session` (default: an ephemeral session that does not cache).
    public init(session: URLSession = URLSession(configuration: .ephemeral)) {
        self.session = session
    }

    /// Performs `request`; URLSession's failures become `TransportError`s.
    public func send(request: HttpRequest) async throws -> HttpResponse {
        guard let url = URL(string: request.url), url.scheme == "https" || url.scheme == "http" else {
            throw TransportError.Refused(reason: "not an http(s) URL: \(request.url)")
        }
        var urlRequest = URLRequest(url: url, timeoutInterval: TimeInterval(max(1, request.timeoutMs)) / 1000)
        urlRequest.httpMethod = request.method
        for (name, value) in request.headers { urlRequest.setValue(value, forHTTPHeaderField: name) }
        if !request.body.isEmpty { urlRequest.httpBody = request.body }

        // The core refuses a body longer than the cap: read one byte past it, no more, whatever
        // Content-Length says (memory stays bounded against a gzip bomb).
        let cap = request.maxResponseBytes < Int64(Int.max) ? Int(max(0, request.maxResponseBytes)) + 1 : Int.max
        var data = Data()
        let response: URLResponse
        do {
            let (bytes, answer) = try await session.bytes(for: urlRequest)
            response = answer
            for try await byte in bytes {
                data.append(byte)
                if data.count >= cap {
                    bytes.task.cancel()
                    break
                }
            }
        } catch let error as URLError {
            throw error.code == .timedOut
                ? TransportError.Timeout(reason: error.localizedDescription)
                : TransportError.Connection(reason: error.localizedDescription)
        } catch {
            throw TransportError.Connection(reason: String(describing: error))
        }
        guard let http = response as? HTTPURLResponse else {
            throw TransportError.Connection(reason: "not an HTTP response")
        }
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields {
            headers[String(describing: key).lowercased()] = String(describing: value)
        }
        return HttpResponse(status: Int32(clamping: http.statusCode), headers: headers, body: data)
    }
}
