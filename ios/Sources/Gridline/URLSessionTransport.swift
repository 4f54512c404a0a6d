import Foundation
import GridlineFFI

/// Carries Gridline's requests over the app's own `URLSession`, so its configuration (proxies,
/// certificate pinning in the delegate, protocol classes) applies. No retries of its own: the
/// sync engine decides. The protocol method is synchronous (it runs on Gridline's background
/// queue), so it waits for the data task with a semaphore.
public final class URLSessionTransport: HttpTransport, @unchecked Sendable {
    private let session: URLSession

    /// Uses `session` (default: an ephemeral session that does not cache).
    public init(session: URLSession = URLSession(configuration: .ephemeral)) {
        self.session = session
    }

    public func send(request: HttpRequest) throws -> HttpResponse {
        guard let url = URL(string: request.url) else {
            throw TransportError.Refused(reason: "not a URL: \(request.url)")
        }
        var urlRequest = URLRequest(url: url, timeoutInterval: TimeInterval(request.timeoutMs) / 1000)
        urlRequest.httpMethod = request.method
        for (name, value) in request.headers { urlRequest.setValue(value, forHTTPHeaderField: name) }
        if !request.body.isEmpty { urlRequest.httpBody = request.body }

        let done = DispatchSemaphore(value: 0)
        var outcome: Result<HttpResponse, TransportError> = .failure(.Timeout(reason: "no answer"))
        let task = session.dataTask(with: urlRequest) { data, response, error in
            if let error = error as? URLError {
                outcome = .failure(error.code == .timedOut ? .Timeout(reason: error.localizedDescription) : .Connection(reason: error.localizedDescription))
            } else if let error {
                outcome = .failure(.Connection(reason: error.localizedDescription))
            } else if let http = response as? HTTPURLResponse {
                var headers: [String: String] = [:]
                for (key, value) in http.allHeaderFields {
                    headers[String(describing: key).lowercased()] = String(describing: value)
                }
                outcome = .success(HttpResponse(status: Int32(http.statusCode), headers: headers, body: data ?? Data()))
            } else {
                outcome = .failure(.Connection(reason: "not an HTTP response"))
            }
            done.signal()
        }
        task.resume()
        if done.wait(timeout: .now() + .milliseconds(Int(request.timeoutMs) + 1000)) == .timedOut {
            task.cancel()
            throw TransportError.Timeout(reason: "no answer in \(request.timeoutMs) ms")
        }
        return try outcome.get()
    }
}
