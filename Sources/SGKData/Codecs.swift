/// A parse error with a 1-based position in the input.
public struct DataParseError: Error, Sendable, CustomStringConvertible {
    public var format: String   // "JSON" or "YAML"
    public var message: String
    public var line: Int
    public var column: Int
    public init(format: String, message: String, line: Int, column: Int) {
        self.format = format; self.message = message; self.line = line; self.column = column
    }
    public var description: String { "\(format) \(line):\(column): \(message)" }
}

// Implemented in JSONCodec.swift and YAMLCodec.swift (every throw is a DataParseError):
//   JSONCodec.parse(_ text: String) throws(DataParseError) -> JSON
//   JSONCodec.parse(bytes: [UInt8]) throws(DataParseError) -> JSON
//   JSONCodec.serialize(_ value: JSON, pretty: Bool = false) -> String
//   JSONCodec.maxDepth  (1_000; deeper nesting is "nesting too deep")
//   YAMLCodec.parseDocuments(_ text: String) throws(DataParseError) -> [JSON]
//   YAMLCodec.parse(_ text: String) throws(DataParseError) -> JSON
//   YAMLCodec.emit(_ value: JSON) -> String
//   YAMLCodec.emitDocuments(_ docs: [JSON]) -> String
