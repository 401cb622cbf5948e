import Foundation

extension DriftReport {
    public func renderJSON() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    public func renderText() -> String {
        var lines = ["\(title) — generated \(generatedAt)"]
        lines.append("reference: \(referenceRecords) records (\(referenceMalformed) malformed); current: \(currentRecords) records (\(currentMalformed) malformed)")
        lines.append(String(format: "score: %.2f", score))
        if !windows.isEmpty {
            lines.append("score by window: " + windows.map { String(format: "%.2f", $0.score) }.joined(separator: " "))
        }
        if !changePoints.isEmpty { lines.append("score changes level at windows: " + changePoints.map(String.init).joined(separator: ", ")) }
        lines.append("")
        lines.append("top fields:")
        for field in fields.prefix(10) {
            let strongest = field.components.filter { $0.value > 0 }.sorted { $0.value > $1.value }.prefix(3)
                .map { "\($0.key) " + String(format: "%.2f", $0.value) }.joined(separator: ", ")
            let status = field.status == .present ? "" : "[\(field.status.rawValue)] "
            lines.append("  " + field.path.padding(toLength: max(30, field.path.count), withPad: " ", startingAt: 0) + String(format: " %.2f  ", field.score) + status + strongest)
        }
        if !events.isEmpty {
            lines.append("")
            lines.append("events:")
            for event in events.prefix(50) { lines.append("  window \(event.window)  \(event.field)  \(event.kind)  " + String(format: "%.2f", event.score)) }
        }
        if !undeclaredFields.isEmpty { lines.append("undeclared fields: " + undeclaredFields.joined(separator: ", ")) }
        return lines.joined(separator: "\n")
    }

    /// A self-contained page: inline CSS and SVG, no scripts, no external fetches.
    public func renderHTML() -> String {
        var body = "<h1>\(escape(title))</h1>"
        body += "<p class=meta>Generated \(escape(generatedAt)). Reference: \(referenceRecords) records (\(referenceMalformed) malformed). Current: \(currentRecords) records (\(currentMalformed) malformed).</p>"
        body += "<p class=score>Source score <b>\(String(format: "%.2f", score))</b></p>"
        if !windows.isEmpty {
            body += "<h2>Score over time</h2>" + scoreChart()
        }
        body += "<h2>Fields</h2><table><tr><th>Field</th><th>Status</th><th>Score</th><th>Strongest components</th></tr>"
        for field in fields {
            let strongest = field.components.filter { $0.value > 0 }.sorted { $0.value > $1.value }.prefix(3)
                .map { "\(escape($0.key)) \(String(format: "%.2f", $0.value))" }.joined(separator: ", ")
            body += "<tr><td><a href=\"#f-\(anchor(field.path))\">\(escape(field.path))</a></td><td>\(field.status.rawValue)</td><td>\(bar(field.score))</td><td>\(strongest)</td></tr>"
        }
        body += "</table>"
        for field in fields {
            body += "<section id=\"f-\(anchor(field.path))\"><h3>\(escape(field.path)) <small>score \(String(format: "%.2f", field.score))</small></h3>"
            body += "<p>Missing \(percent(field.referenceMissingRate)) → \(percent(field.currentMissingRate)); null \(percent(field.referenceNullRate)) → \(percent(field.currentNullRate))"
            if let violations = field.violations { body += "; schema violations \(violations)" }
            body += "</p>"
            body += "<p>Types: reference \(typeMix(field.referenceTypes)); current \(typeMix(field.currentTypes))</p>"
            if let histogram = field.histogram { body += histogramChart(histogram) }
            if let categories = field.categories, !categories.isEmpty { body += categoryChart(categories) }
            if !field.metrics.isEmpty {
                body += "<p class=metrics>" + field.metrics.sorted { $0.key < $1.key }.map { "\(escape($0.key)) \(String(format: "%.4g", $0.value))" }.joined(separator: " · ") + "</p>"
            }
            body += "</section>"
        }
        if !events.isEmpty {
            body += "<h2>Drift events</h2><table><tr><th>Window</th><th>Field</th><th>Kind</th><th>Score</th></tr>"
            for event in events { body += "<tr><td>\(event.window)</td><td>\(escape(event.field))</td><td>\(escape(event.kind))</td><td>\(String(format: "%.2f", event.score))</td></tr>" }
            body += "</table>"
        }
        if !undeclaredFields.isEmpty { body += "<p>Undeclared fields: \(undeclaredFields.map(escape).joined(separator: ", "))</p>" }
        let style = """
            body{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}table{border-collapse:collapse}
            td,th{padding:.25em .75em;border-bottom:1px solid #ddd;text-align:left}.meta,.metrics{color:#555;font-size:.9em}
            .score b{font-size:1.4em}section{margin:1.5em 0;padding-top:.5em;border-top:1px solid #eee}svg text{font-size:11px;fill:#333}
            """
        return "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>\(escape(title))</title><style>\(style)</style></head><body>\(body)</body></html>"
    }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    private func anchor(_ path: String) -> String {
        String(path.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) ? Character($0) : "-" })
    }

    private func percent(_ value: Double) -> String { String(format: "%.1f%%", 100 * value) }

    private func typeMix(_ shares: [String: Double]) -> String {
        shares.isEmpty ? "—" : shares.sorted { $0.value > $1.value }.map { "\($0.key) \(percent($0.value))" }.joined(separator: ", ")
    }

    private func bar(_ score: Double) -> String {
        let color = score >= 0.7 ? "#c0392b" : score >= 0.5 ? "#e67e22" : "#27ae60"
        return "<svg width=110 height=12 role=img aria-label=\"score \(String(format: "%.2f", score))\"><rect width=100 height=10 fill=#eee></rect><rect width=\(Int(score * 100)) height=10 fill=\(color)></rect></svg> \(String(format: "%.2f", score))"
    }

    private func scoreChart() -> String {
        let width = 640.0, height = 160.0, pad = 30.0
        let step = windows.count > 1 ? (width - 2 * pad) / Double(windows.count - 1) : 0
        let points = windows.enumerated().map { index, point in
            String(format: "%.1f,%.1f", pad + Double(index) * step, height - pad - point.score * (height - 2 * pad))
        }.joined(separator: " ")
        var svg = "<svg width=\(Int(width)) height=\(Int(height)) role=img aria-label=\"score over time\">"
        svg += "<line x1=\(pad) y1=\(height - pad) x2=\(width - pad) y2=\(height - pad) stroke=#999></line>"
        let threshold = height - pad - 0.5 * (height - 2 * pad)
        svg += "<line x1=\(pad) y1=\(threshold) x2=\(width - pad) y2=\(threshold) stroke=#e67e22 stroke-dasharray=4></line><text x=2 y=\(threshold + 4)>0.5</text>"
        for change in changePoints where change < windows.count {
            let x = pad + Double(change) * step
            svg += "<line x1=\(x) y1=\(pad) x2=\(x) y2=\(height - pad) stroke=#8e44ad stroke-dasharray=2></line>"
        }
        svg += "<polyline fill=none stroke=#2c3e50 stroke-width=2 points=\"\(points)\"></polyline>"
        svg += "<text x=\(pad) y=\(height - 8)>window 0</text><text x=\(width - pad - 60) y=\(height - 8)>window \(windows.count - 1)</text></svg>"
        return svg
    }

    private func histogramChart(_ histogram: Histogram) -> String {
        let width = 640.0, height = 150.0, pad = 20.0
        let bins = histogram.reference.count
        let top = max(histogram.reference.max() ?? 0, histogram.current.max() ?? 0, 1e-9)
        let binWidth = (width - 2 * pad) / Double(bins)
        var svg = "<svg width=\(Int(width)) height=\(Int(height)) role=img aria-label=\"histogram reference vs current\">"
        for index in 0..<bins {
            let x = pad + Double(index) * binWidth
            let r = histogram.reference[index] / top * (height - 2 * pad)
            let c = histogram.current[index] / top * (height - 2 * pad)
            svg += String(format: "<rect x=%.1f y=%.1f width=%.1f height=%.1f fill=#95a5a6></rect>", x, height - pad - r, binWidth / 2, r)
            svg += String(format: "<rect x=%.1f y=%.1f width=%.1f height=%.1f fill=#2980b9></rect>", x + binWidth / 2, height - pad - c, binWidth / 2, c)
        }
        svg += String(format: "<text x=%.0f y=%.0f>%.4g</text><text x=%.0f y=%.0f>%.4g</text>", pad, height - 4, histogram.edges.first!, width - pad - 50, height - 4, histogram.edges.last!)
        svg += "<text x=\(width - 160) y=12>■ reference</text><text x=\(width - 80) y=12 style=\"fill:#2980b9\">■ current</text></svg>"
        return svg
    }

    private func categoryChart(_ bars: [CategoryBar]) -> String {
        let rowHeight = 16.0, labelWidth = 140.0, barWidth = 220.0
        let height = Double(bars.count) * rowHeight * 2 + 10
        var svg = "<svg width=\(Int(labelWidth + 2 * barWidth + 40)) height=\(Int(height)) role=img aria-label=\"categories reference vs current\">"
        for (index, bar) in bars.enumerated() {
            let y = Double(index) * rowHeight * 2 + 4
            svg += "<text x=0 y=\(y + 11)>\(escape(String(bar.value.prefix(20))))</text>"
            svg += String(format: "<rect x=%.0f y=%.1f width=%.1f height=%.0f fill=#95a5a6></rect>", labelWidth, y, bar.reference * barWidth, rowHeight - 4)
            svg += String(format: "<rect x=%.0f y=%.1f width=%.1f height=%.0f fill=#2980b9></rect>", labelWidth, y + rowHeight - 3, bar.current * barWidth, rowHeight - 4)
            svg += String(format: "<text x=%.0f y=%.1f>%.1f%% → %.1f%%</text>", labelWidth + barWidth + 10, y + 14, 100 * bar.reference, 100 * bar.current)
        }
        return svg + "</svg>"
    }
}
