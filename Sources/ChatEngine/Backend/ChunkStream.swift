import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Cancels a stream's HTTP request at once, from whichever layer stops reading first: without it a
/// cancel would have to hop through every task between the reader and the URLSession task, each
/// hop waiting for a free thread of the cooperative pool.
public final class StreamCancel: @unchecked Sendable {
    private let lock = NSLock()
    private var task: URLSessionTask?
    private var cancelled = false

    public init() {}

    func attach(_ t: URLSessionTask) {
        lock.lock()
        let stop = cancelled
        if !stop { task = t }
        lock.unlock()
        if stop { t.cancel() }
    }

    public func cancel() {
        lock.lock()
        cancelled = true
        let t = task
        task = nil
        lock.unlock()
        t?.cancel()
    }
}

extension AsyncThrowingStream.Continuation where Failure == Error {
    /// When the reader stops (or the stream ends): stop the HTTP request at once, then the task.
    func stopOnTermination(_ task: Task<Void, Never>, _ cancel: StreamCancel) {
        onTermination = { _ in
            cancel.cancel()
            task.cancel()
        }
    }
}

/// An error status on a stream request, with the headers a retry decision needs.
struct StreamStatusError: Error {
    let error: APIError
    let headers: HTTPURLResponse
}

/// A URLSession data task delivering the response and each body chunk as they arrive (Linux has no
/// `bytes(for:)`). Ending the iteration cancels the request at once.
enum ChunkStream {
    enum Part: @unchecked Sendable {
        case response(HTTPURLResponse)
        case chunk(Data)
    }

    final class Delegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        let continuation: AsyncThrowingStream<Part, Error>.Continuation
        init(_ c: AsyncThrowingStream<Part, Error>.Continuation) { continuation = c }
        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
            if let http = response as? HTTPURLResponse { continuation.yield(.response(http)) }
            completionHandler(.allow)
        }
        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            continuation.yield(.chunk(data))
        }
        /// No redirect is followed: the 3xx itself becomes the reply (and an error naming its target).
        func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
            completionHandler(nil)
        }
        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
            if let error { continuation.finish(throwing: error) } else { continuation.finish() }
            session.finishTasksAndInvalidate()
        }
    }

    /// A whole reply: its head and body (the same delegate path as streams, so redirects are refused alike).
    static func collect(_ request: URLRequest, in config: HTTPConfig) async throws -> (Data, HTTPURLResponse) {
        var head: HTTPURLResponse?
        var body = Data()
        for try await part in open(request, in: config, cancel: StreamCancel()) {
            switch part {
            case .response(let h): head = h
            case .chunk(let d): body.append(d)
            }
        }
        guard let head else { throw APIError(status: 0, type: "invalid_response", message: "the server's reply is not HTTP") }
        return (body, head)
    }

    static func open(_ request: URLRequest, in config: HTTPConfig, cancel: StreamCancel) -> AsyncThrowingStream<Part, Error> {
        AsyncThrowingStream { continuation in
            let c = URLSessionConfiguration.ephemeral
            c.timeoutIntervalForRequest = TimeInterval(config.idleTimeout)
            c.urlCache = nil
            c.httpCookieStorage = nil
            let session = URLSession(configuration: c, delegate: Delegate(continuation), delegateQueue: nil)
            let task = session.dataTask(with: request)
            cancel.attach(task)
            continuation.onTermination = { _ in
                task.cancel()
                session.invalidateAndCancel()
            }
            task.resume()
        }
    }
}
