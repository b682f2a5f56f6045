/// A dense float32 tensor in row-major (C) order, the layout PyTorch uses for contiguous tensors.
///
/// Feature maps are stored NCHW with N = 1 omitted where a kernel documents it: `[C, H, W]`.
/// Storage is a Swift array so copies are copy-on-write; kernels work on its unsafe buffer.
public struct Tensor: Sendable, Equatable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count, "Tensor: \(data.count) values for shape \(shape)")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: [Int]) {
        self.shape = shape
        self.data = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    /// A tensor whose values the caller fills in completely before reading any (skips the zero fill).
    public init(uninitialized shape: [Int], _ fill: (UnsafeMutableBufferPointer<Float>) -> Void) {
        let n = shape.reduce(1, *)
        self.shape = shape
        self.data = [Float](unsafeUninitializedCapacity: n) { buf, count in
            fill(buf)
            count = n
        }
    }

    public var count: Int { data.count }
    public var rank: Int { shape.count }

    /// The same values under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, data: data)
    }

    /// Channels, height and width of a `[C, H, W]` or `[1, C, H, W]` feature map.
    public var chw: (c: Int, h: Int, w: Int) {
        precondition(rank == 3 || (rank == 4 && shape[0] == 1), "Tensor: \(shape) is not a [C, H, W] map")
        let s = shape.suffix(3)
        return (s[s.startIndex], s[s.startIndex + 1], s[s.startIndex + 2])
    }

    /// Largest absolute value (0 for an empty tensor).
    public var maxAbs: Float { data.reduce(0) { max($0, abs($1)) } }
}
