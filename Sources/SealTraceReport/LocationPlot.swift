import Foundation

/// The "where" of a report drawn offline: an equirectangular plot of the whole earth with a 30°
/// graticule and labelled axes, and beside it a close-up of ±1° around the point with a 0.25°
/// graticule. No map tiles, nothing fetched: coordinates on a grid are what the record proves.
package enum LocationPlot {
    /// The SVG element (inline, no external references) for a point at `latitude`, `longitude` degrees.
    package static func svg(latitude: Double, longitude: Double) -> String {
        let lat = min(max(latitude, -90), 90), lon = min(max(longitude, -180), 180)
        var svg = "<svg class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 620 220\" role=\"img\" aria-label=\"stamp location\">\n"
        svg += "<rect x=\"0\" y=\"0\" width=\"620\" height=\"220\" fill=\"#fff\"/>\n"
        // World: 360° × 180° at 1 unit per degree, offset (30, 20).
        let world = (x: 30.0, y: 20.0)
        func wx(_ lon: Double) -> Double { world.x + lon + 180 }
        func wy(_ lat: Double) -> Double { world.y + 90 - lat }
        svg += "<g class=\"world\" font-size=\"8\" fill=\"#444\">\n"
        svg += rect(wx(-180), wy(90), 360, 180, stroke: "#333")
        for degrees in stride(from: -150.0, through: 150.0, by: 30.0) {
            svg += line(wx(degrees), wy(90), wx(degrees), wy(-90), stroke: degrees == 0 ? "#888" : "#ddd")
        }
        for degrees in stride(from: -60.0, through: 60.0, by: 30.0) {
            svg += line(wx(-180), wy(degrees), wx(180), wy(degrees), stroke: degrees == 0 ? "#888" : "#ddd")
        }
        for degrees in stride(from: -180.0, through: 180.0, by: 60.0) {
            svg += text(wx(degrees), wy(-90) + 11, "\(Int(degrees))°", anchor: "middle")
        }
        for degrees in stride(from: -90.0, through: 90.0, by: 30.0) {
            svg += text(wx(-180) - 3, wy(degrees) + 3, "\(Int(degrees))°", anchor: "end")
        }
        svg += text(wx(0), 12, "longitude (equirectangular, 30° graticule)", anchor: "middle")
        svg += marker(wx(lon), wy(lat), radius: 3)
        svg += "</g>\n"

        // Close-up: ±1° around the point at 80 units per degree, offset (420, 20).
        let span = 1.0, scale = 80.0
        let close = (x: 420.0, y: 20.0)
        let west = (lon - span), north = (lat + span)
        func cx(_ value: Double) -> Double { close.x + (value - west) * scale }
        func cy(_ value: Double) -> Double { close.y + (north - value) * scale }
        svg += "<g class=\"closeup\" font-size=\"7\" fill=\"#444\">\n"
        svg += rect(close.x, close.y, 2 * span * scale, 2 * span * scale, stroke: "#333")
        let step = 0.25
        var gridLon = (west / step).rounded(.up) * step
        while gridLon <= lon + span + 1e-9 {
            svg += line(cx(gridLon), close.y, cx(gridLon), close.y + 2 * span * scale, stroke: "#e3e3e3")
            gridLon += step
        }
        var gridLat = ((lat - span) / step).rounded(.up) * step
        while gridLat <= north + 1e-9 {
            svg += line(close.x, cy(gridLat), close.x + 2 * span * scale, cy(gridLat), stroke: "#e3e3e3")
            gridLat += step
        }
        svg += text(close.x, close.y + 2 * span * scale + 10, String(format: "%.2f°", west), anchor: "start")
        svg += text(close.x + 2 * span * scale, close.y + 2 * span * scale + 10, String(format: "%.2f°", lon + span), anchor: "end")
        svg += text(close.x - 3, close.y + 6, String(format: "%.2f°", north), anchor: "end")
        svg += text(close.x - 3, close.y + 2 * span * scale, String(format: "%.2f°", lat - span), anchor: "end")
        svg += text(close.x + span * scale, 12, "±1° close-up, 0.25° graticule", anchor: "middle")
        svg += marker(cx(lon), cy(lat), radius: 4)
        svg += text(cx(lon) + 7, cy(lat) - 6, String(format: "%.5f, %.5f", lat, lon), anchor: "start")
        svg += "</g>\n</svg>\n"
        return svg
    }

    private static func number(_ value: Double) -> String { String(format: "%.2f", value) }

    private static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String) -> String {
        "<line x1=\"\(number(x1))\" y1=\"\(number(y1))\" x2=\"\(number(x2))\" y2=\"\(number(y2))\" stroke=\"\(stroke)\" stroke-width=\"0.6\"/>\n"
    }

    private static func rect(_ x: Double, _ y: Double, _ width: Double, _ height: Double, stroke: String) -> String {
        "<rect x=\"\(number(x))\" y=\"\(number(y))\" width=\"\(number(width))\" height=\"\(number(height))\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"0.8\"/>\n"
    }

    private static func text(_ x: Double, _ y: Double, _ content: String, anchor: String) -> String {
        "<text x=\"\(number(x))\" y=\"\(number(y))\" text-anchor=\"\(anchor)\">\(TraceReportHTML.escape(content))</text>\n"
    }

    /// A red dot with a cross-hair, marked `class="point"` with its plot coordinates.
    private static func marker(_ x: Double, _ y: Double, radius: Double) -> String {
        "<circle class=\"point\" cx=\"\(number(x))\" cy=\"\(number(y))\" r=\"\(number(radius))\" fill=\"#c00\" stroke=\"#fff\" stroke-width=\"0.8\"/>\n"
            + line(x - 3 * radius, y, x + 3 * radius, y, stroke: "#c00") + line(x, y - 3 * radius, x, y + 3 * radius, stroke: "#c00")
    }
}
