import HTTPTypes
import Hummingbird
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The gateway's own answers, in the OpenAI error shape (`{"error": {"message", "type", "code"}}`), with
/// extra fields where they help: `models` (the names there are) on a 404, `phase` and `reason` on a 503.
enum GatewayReply {
    struct ErrorBody: Encodable {
        struct Detail: Encodable {
            var message: String
            var type: String
            var code: String
            var models: [String]?
            var phase: String?
            var reason: String?
        }
        var error: Detail
    }

    /// `GET /v1/models`: the OpenAI list shape; `runtime`, `phase`, `aliases` and `onDemand` are extra.
    struct ModelList: Encodable {
        struct Item: Encodable {
            var id: String
            var object = "model"
            var created = 0
            var owned_by = "metal-agent"
            var runtime: String?
            var phase: String?
            var aliases: [String]
            var onDemand: Bool
        }
        var object = "list"
        var data: [Item]
    }

    private static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    /// A JSON response with `Content-Type: application/json`.
    static func json(_ status: HTTPResponse.Status, _ value: some Encodable, headers extra: HTTPFields = [:]) -> Response {
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        var headers = extra
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// An error in the OpenAI shape.
    static func error(
        _ status: HTTPResponse.Status, type: String, code: String, _ message: String, models: [String]? = nil,
        phase: String? = nil, reason: String? = nil, retryAfter: Int? = nil
    ) -> Response {
        var headers: HTTPFields = [:]
        if let retryAfter { headers[.retryAfter] = "\(retryAfter)" }
        return json(
            status, ErrorBody(error: .init(message: message, type: type, code: code, models: models, phase: phase, reason: reason)),
            headers: headers)
    }
}
