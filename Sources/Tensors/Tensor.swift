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

    public var count: Int { data.count }
    public var rank: Int { shape.count }

    /// The same values under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, data: data)
    }
}
