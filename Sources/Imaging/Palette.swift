/// The BDD100K label colours (RGB), from `bdd100k/label/label.py`, keyed by category name.
public enum BDD100KPalette {
    public static let colors: [String: (UInt8, UInt8, UInt8)] = [
        "unlabeled": (0, 0, 0), "dynamic": (111, 74, 0), "ego vehicle": (0, 0, 0), "ground": (81, 0, 81),
        "static": (0, 0, 0), "parking": (250, 170, 160), "rail track": (230, 150, 140), "road": (128, 64, 128),
        "sidewalk": (244, 35, 232), "bridge": (150, 100, 100), "building": (70, 70, 70),
        "fence": (190, 153, 153), "garage": (180, 100, 180), "guard rail": (180, 165, 180),
        "tunnel": (150, 120, 90), "wall": (102, 102, 156), "banner": (250, 170, 100),
        "billboard": (220, 220, 250), "lane divider": (255, 165, 0), "parking sign": (220, 20, 60),
        "pole": (153, 153, 153), "polegroup": (153, 153, 153), "street light": (220, 220, 100),
        "traffic cone": (255, 70, 0), "traffic device": (220, 220, 220), "traffic light": (250, 170, 30),
        "traffic sign": (220, 220, 0), "traffic sign frame": (250, 170, 250), "terrain": (152, 251, 152),
        "vegetation": (107, 142, 35), "sky": (70, 130, 180), "person": (220, 20, 60), "rider": (255, 0, 0),
        "bicycle": (119, 11, 32), "bus": (0, 60, 100), "car": (0, 0, 142), "caravan": (0, 0, 90),
        "motorcycle": (0, 0, 230), "trailer": (0, 0, 110), "train": (0, 80, 100), "truck": (0, 0, 70),
    ]

    /// The colour of a category; unknown names get a stable grey derived from the name.
    public static func color(of category: String) -> (UInt8, UInt8, UInt8) {
        if let c = colors[category] { return c }
        var h: UInt32 = 2166136261
        for b in category.utf8 { h = (h ^ UInt32(b)) &* 16777619 }
        let g = UInt8(96 + h % 96)
        return (g, g, g)
    }
}
