/// The element types a checkpoint tensor can have (the torch dtypes with a plain byte layout).
public enum DType: String, Sendable, CaseIterable, Codable {
    case float64, float32, float16, bfloat16
    case float8_e4m3fn, float8_e5m2, float8_e4m3fnuz, float8_e5m2fnuz, float8_e8m0fnu
    /// Two fp4 values per byte; one element here is one byte.
    case float4_e2m1fn_x2
    case int8, int16, int32, int64
    case uint8, uint16, uint32, uint64
    case bool
    case complex32, complex64, complex128

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float64, .int64, .uint64, .complex64: return 8
        case .float32, .int32, .uint32, .complex32: return 4
        case .float16, .bfloat16, .int16, .uint16: return 2
        case .complex128: return 16
        default: return 1
        }
    }

    /// The size of the unit a byte swap reverses (complex numbers swap each half).
    var swapUnit: Int {
        switch self {
        case .complex32: return 2
        case .complex64: return 4
        case .complex128: return 8
        default: return size
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .float64, .float32, .float16, .bfloat16: return true
        default: return false
        }
    }

    public var isComplex: Bool { self == .complex32 || self == .complex64 || self == .complex128 }

    /// The safetensors dtype string, or nil when safetensors has none (complex32, complex128).
    public var safetensorsName: String? {
        switch self {
        case .float64: return "F64"
        case .float32: return "F32"
        case .float16: return "F16"
        case .bfloat16: return "BF16"
        case .float8_e4m3fn: return "F8_E4M3"
        case .float8_e5m2: return "F8_E5M2"
        case .float8_e4m3fnuz: return "F8_E4M3FNUZ"
        case .float8_e5m2fnuz: return "F8_E5M2FNUZ"
        case .float8_e8m0fnu: return "F8_E8M0"
        case .float4_e2m1fn_x2: return "F4"
        case .int8: return "I8"
        case .int16: return "I16"
        case .int32: return "I32"
        case .int64: return "I64"
        case .uint8: return "U8"
        case .uint16: return "U16"
        case .uint32: return "U32"
        case .uint64: return "U64"
        case .bool: return "BOOL"
        case .complex64: return "C64"
        case .complex32, .complex128: return nil
        }
    }

    public init?(safetensorsName: String) {
        guard let d = DType.allCases.first(where: { $0.safetensorsName == safetensorsName }) else { return nil }
        self = d
    }

    /// The dtype of a legacy storage class name (`FloatStorage`, `cuda.HalfStorage`, ...).
    init?(storageClass name: String) {
        switch name {
        case "DoubleStorage": self = .float64
        case "FloatStorage": self = .float32
        case "HalfStorage": self = .float16
        case "BFloat16Storage": self = .bfloat16
        case "LongStorage": self = .int64
        case "IntStorage": self = .int32
        case "ShortStorage": self = .int16
        case "CharStorage": self = .int8
        case "ByteStorage": self = .uint8
        case "BoolStorage": self = .bool
        case "ComplexFloatStorage": self = .complex64
        case "ComplexDoubleStorage": self = .complex128
        default: return nil
        }
    }

    /// The legacy storage class torch pickles for this dtype, or nil for dtypes saved as UntypedStorage.
    var storageClass: String? {
        switch self {
        case .float64: return "DoubleStorage"
        case .float32: return "FloatStorage"
        case .float16: return "HalfStorage"
        case .bfloat16: return "BFloat16Storage"
        case .int64: return "LongStorage"
        case .int32: return "IntStorage"
        case .int16: return "ShortStorage"
        case .int8: return "CharStorage"
        case .uint8: return "ByteStorage"
        case .bool: return "BoolStorage"
        case .complex64: return "ComplexFloatStorage"
        case .complex128: return "ComplexDoubleStorage"
        default: return nil
        }
    }

    /// numpy dtype codes (`f4`, `i8`, `b1`, ...).
    init?(numpyCode code: String) {
        switch code {
        case "f8": self = .float64
        case "f4": self = .float32
        case "f2": self = .float16
        case "i1": self = .int8
        case "i2": self = .int16
        case "i4": self = .int32
        case "i8": self = .int64
        case "u1": self = .uint8
        case "u2": self = .uint16
        case "u4": self = .uint32
        case "u8": self = .uint64
        case "b1": self = .bool
        case "c8": self = .complex64
        case "c16": self = .complex128
        default: return nil
        }
    }
}
