/// Draws panoptic segments over an image: each segment tinted with its category's BDD100K colour,
/// instance (thing) outlines in white, and a legend of the categories present.
///
/// Pixels are interleaved RGB, row-major, `width * height * 3` bytes.
public struct OverlaySegment: Sendable {
    public var category: String
    public var isThing: Bool
    public init(category: String, isThing: Bool) { self.category = category; self.isThing = isThing }
}

public enum Overlay {
    /// - Parameters:
    ///   - rgb: the picture, modified in place.
    ///   - segmentIndex: per pixel, the index into `segments`, or -1 for none (VOID / unlabeled).
    ///   - alpha: the weight of the category colour.
    public static func draw(rgb: inout [UInt8], width: Int, height: Int, segmentIndex: [Int32],
                            segments: [OverlaySegment], alpha: Float = 0.5, legend: Bool = true) {
        precondition(rgb.count == width * height * 3 && segmentIndex.count == width * height)
        let colors = segments.map { BDD100KPalette.color(of: $0.category) }
        rgb.withUnsafeMutableBufferPointer { px in
            segmentIndex.withUnsafeBufferPointer { seg in
                for y in 0..<height {
                    for x in 0..<width {
                        let i = y * width + x
                        let s = Int(seg[i])
                        guard s >= 0, s < segments.count else { continue }
                        let c = colors[s]
                        // An outline where a thing meets another segment.
                        var edge = false
                        if segments[s].isThing {
                            if x + 1 < width && seg[i + 1] != seg[i] { edge = true }
                            if x > 0 && seg[i - 1] != seg[i] { edge = true }
                            if y + 1 < height && seg[i + width] != seg[i] { edge = true }
                            if y > 0 && seg[i - width] != seg[i] { edge = true }
                        }
                        if edge {
                            px[3 * i] = 255; px[3 * i + 1] = 255; px[3 * i + 2] = 255
                            continue
                        }
                        px[3 * i] = blend(px[3 * i], c.0, alpha)
                        px[3 * i + 1] = blend(px[3 * i + 1], c.1, alpha)
                        px[3 * i + 2] = blend(px[3 * i + 2], c.2, alpha)
                    }
                }
            }
        }
        if legend {
            var seen: [String] = []
            var counts: [String: Int] = [:]
            for s in segmentIndex where s >= 0 && Int(s) < segments.count {
                let name = segments[Int(s)].category
                if counts[name] == nil { seen.append(name) }
                counts[name, default: 0] += 1
            }
            drawLegend(rgb: &rgb, width: width, height: height, categories: seen.sorted())
        }
    }

    static func blend(_ a: UInt8, _ b: UInt8, _ alpha: Float) -> UInt8 {
        UInt8(max(0, min(255, (Float(a) * (1 - alpha) + Float(b) * alpha).rounded())))
    }

    /// A box at the top left: a colour swatch and the name of each category, one per line.
    public static func drawLegend(rgb: inout [UInt8], width: Int, height: Int, categories: [String]) {
        guard !categories.isEmpty else { return }
        let scale = max(1, min(width, height) / 360)
        let lineHeight = (BitmapFont.height + 3) * scale
        let swatch = BitmapFont.height * scale
        let longest = categories.map(\.count).max() ?? 0
        let boxW = min(width, 4 * scale + swatch + 3 * scale + longest * (BitmapFont.width + 1) * scale + 4 * scale)
        let boxH = min(height, 4 * scale + categories.count * lineHeight)
        fillRect(&rgb, width, height, x: 0, y: 0, w: boxW, h: boxH, color: (0, 0, 0), alpha: 0.6)
        for (k, name) in categories.enumerated() {
            let y0 = 3 * scale + k * lineHeight
            guard y0 + swatch <= height else { break }
            fillRect(&rgb, width, height, x: 3 * scale, y: y0, w: swatch, h: swatch,
                     color: BDD100KPalette.color(of: name), alpha: 1)
            drawText(&rgb, width, height, name, x: 3 * scale + swatch + 3 * scale, y: y0, scale: scale,
                     color: (255, 255, 255))
        }
    }

    static func fillRect(_ rgb: inout [UInt8], _ width: Int, _ height: Int, x: Int, y: Int, w: Int, h: Int,
                         color: (UInt8, UInt8, UInt8), alpha: Float) {
        for yy in max(0, y)..<min(height, y + h) {
            for xx in max(0, x)..<min(width, x + w) {
                let i = 3 * (yy * width + xx)
                rgb[i] = blend(rgb[i], color.0, alpha)
                rgb[i + 1] = blend(rgb[i + 1], color.1, alpha)
                rgb[i + 2] = blend(rgb[i + 2], color.2, alpha)
            }
        }
    }

    /// Draws text with the built-in 5x7 font, clipped to the picture.
    public static func drawText(_ rgb: inout [UInt8], _ width: Int, _ height: Int, _ text: String,
                                x: Int, y: Int, scale: Int, color: (UInt8, UInt8, UInt8)) {
        var cx = x
        for ch in text {
            let rows = BitmapFont.glyph(ch)
            for (r, bits) in rows.enumerated() {
                for c in 0..<BitmapFont.width where bits & (1 << (BitmapFont.width - 1 - c)) != 0 {
                    fillRect(&rgb, width, height, x: cx + c * scale, y: y + r * scale, w: scale, h: scale,
                             color: color, alpha: 1)
                }
            }
            cx += (BitmapFont.width + 1) * scale
        }
    }
}
