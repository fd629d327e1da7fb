import Foundation
import NIOCore
import Testing

@testable import Supervisor

/// The gateway's rewrite of an mlx_lm.server request's `model`, and the hub listing's reader: both once
/// used JSONSerialization (full Foundation), now a byte splice and a Decodable.
@Suite struct JSONRewriteTests {
    func splice(_ text: String, _ model: String = "/models/tiny mlx") -> String? {
        JSONMemberSplice.replacingString("model", with: model, in: Array(text.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func onlyTheModelValueChanges() {
        let body = #"{"model": "chat", "temperature": 0.7, "messages": [{"role": "user", "content": "hi \"model\": x"}], "n": 1e3}"#
        #expect(splice(body) == #"{"model": "/models/tiny mlx", "temperature": 0.7, "messages": [{"role": "user", "content": "hi \"model\": x"}], "n": 1e3}"#)
    }

    @Test func nestedModelKeysAreLeftAlone() {
        let body = #"{"tools": [{"model": "keep"}], "extra": {"model": "keep"}, "model": "chat"}"#
        #expect(splice(body, "/m") == #"{"tools": [{"model": "keep"}], "extra": {"model": "keep"}, "model": "/m"}"#)
    }

    @Test func anEscapedKeyIsStillTheModelKey() {
        #expect(splice(#"{"mod\u0065l":"chat"}"#, "/m") == #"{"mod\u0065l":"/m"}"#)
    }

    @Test func aMissingModelIsAddedFirst() {
        #expect(splice(#"{"prompt": "x"}"#, "/m") == #"{"model":"/m","prompt": "x"}"#)
        #expect(splice(" { } ", "/m") == #" {"model":"/m" } "#)
    }

    @Test func theNewValueIsEscaped() throws {
        let model = "/a \"b\"\\c\n\u{1}/ü"
        let out = try #require(splice(#"{"model":"x"}"#, model))
        let decoded = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
        #expect(decoded?["model"] as? String == model)
    }

    @Test(arguments: [
        "", "[]", #""model""#, #"{"model": "x""#, #"{"model" "x"}"#, #"{"model": "x",}"#, #"{"model": "x"} {}"#, #"{"a": [1, 2}"#, #"{"mod\ud800": 1}"#,
    ])
    func notAJSONObjectIsRefused(body: String) {
        #expect(splice(body) == nil)
    }

    /// What is inside a value is the runtime's to judge: a lone surrogate escape, invalid UTF-8, a control
    /// character. The model is still rewritten (a field report: such a body went on with "model": "mx",
    /// and mlx_lm.server would have tried to load a model named "mx").
    @Test func oddValuesAreKeptAndTheModelStillRewritten() throws {
        let head = Array(#"{"model":"mx","prompt":""#.utf8)
        let bodies: [[UInt8]] = [
            head + Array(#"\ud800 lone"}"#.utf8),
            head + [0xFF, 0xFE] + Array(#""}"#.utf8),
            head + [0x61, 0x01, 0x62] + Array(#"","k":{"nested":""#.utf8) + [0xC3] + Array(#""}}"#.utf8),
        ]
        for body in bodies {
            let out = try #require(JSONMemberSplice.replacingString("model", with: "/m", in: body))
            #expect(Array(out.prefix(14)) == Array(#"{"model":"/m","#.utf8))
            #expect(Array(out.dropFirst(#"{"model":"/m""#.utf8.count)) == Array(body.dropFirst(#"{"model":"mx""#.utf8.count)))
        }
    }

    @Test func theGatewayDropsALeadingByteOrderMarkAndRefusesWhatItCannotRewrite() throws {
        let withBOM = ByteBuffer(bytes: [0xEF, 0xBB, 0xBF] + Array(#"{"model":"mx"}"#.utf8))
        let out = try #require(Gateway.replacingModel(in: withBOM, with: "/m"))
        #expect(String(buffer: out) == #"{"model":"/m"}"#)
        #expect(Gateway.replacingModel(in: ByteBuffer(string: #"{"model":"mx",}"#), with: "/m") == nil)
    }

    @Test func aRealChatRequestStaysEquivalent() throws {
        let body =
            #"{"model":"chat","messages":[{"role":"system","content":"Be brief. \ud83d\ude00"},{"role":"user","content":"2+2?"}],"max_tokens":16,"stream":true,"stop":["\n\n"],"logit_bias":{"50256":-100}}"#
        let out = try #require(splice(body, "/srv/models/qwen"))
        let expected = try #require(JSONSerialization.jsonObject(with: Data(body.utf8)) as? NSDictionary).mutableCopy() as! NSMutableDictionary
        expected["model"] = "/srv/models/qwen"
        let got = try #require(JSONSerialization.jsonObject(with: Data(out.utf8)) as? NSDictionary)
        #expect(got == expected)
    }

    @Test func hubListingReadsSizesAndChecksumsAndSkipsOddSiblings() throws {
        let sha = String(repeating: "A", count: 64)
        let body = #"""
            {"id": "acme/tiny", "siblings": [
              {"rfilename": "config.json", "size": 123},
              {"rfilename": "model.safetensors", "lfs": {"size": 4096.0, "sha256": "\#(sha)"}},
              {"rfilename": ".gitattributes", "size": 9},
              {"rfilename": 42}, "not an object", {"size": 1},
              {"rfilename": "tokenizer.json", "size": "big", "lfs": {"sha256": "short"}}
            ]}
            """#
        let files = try HubRepositoryListing.files(fromJSON: Array(body.utf8), url: "http://hub/api")
        #expect(
            files == [
                .init(name: "config.json", size: 123, sha256: nil),
                .init(name: "model.safetensors", size: 4096, sha256: sha.lowercased()),
                .init(name: "tokenizer.json", size: nil, sha256: nil),
            ])
    }

    @Test(arguments: [#"{"id": "x"}"#, #"{"siblings": {}}"#, "[]", "not json", #"{"siblings": []}"#, #"{"siblings": [{"rfilename": "../x"}]}"#])
    func hubListingWithoutUsableFilesIsAnError(body: String) {
        #expect(throws: ModelFetchError.self) { try HubRepositoryListing.files(fromJSON: Array(body.utf8), url: "http://hub/api") }
    }
}
