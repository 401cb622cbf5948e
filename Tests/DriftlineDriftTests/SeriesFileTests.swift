import DriftlineDrift
import Foundation
import Testing

@Suite struct SeriesFileTests {
    func read(_ text: String) throws(SeriesFile.ReadError) -> SeriesFile { try SeriesFile(data: Data(text.utf8)) }

    @Test func csvPrefersTheValueColumnAndReadsGaps() throws {
        let file = try read("time,value,other\n1,2.5,9\n2,,9\n3,NaN,9\n4,-1e3,9\n")
        #expect(file.column == "value")
        #expect(file.values == [2.5, nil, nil, -1000])
    }

    @Test func csvFallsBackToTheLastNumericColumn() throws {
        let file = try read("day,count,label\nmon,3,a\ntue,4,b\r\nwed,5,c")
        #expect(file.column == "count" && file.values == [3, 4, 5])
    }

    @Test func csvWithoutAHeaderKeepsItsFirstValue() throws {
        let plain = try read("340.7\n341.55\n\n342.675\n")
        #expect(plain.values == [340.7, 341.55, 342.675] && plain.column == "column 1")
        let pairs = try read("1,10\n2,\n3,12\n")
        #expect(pairs.values == [10, nil, 12] && pairs.column == "column 2")
        let error = #expect(throws: SeriesFile.ReadError.self) { try read("1,10\n2\n") }
        #expect(error?.description == "invalid series: line 2 has 1 fields, the first line has 2")
    }

    @Test func jsonArraysWithNulls() throws {
        #expect(try read("[1, null, 2.5e1]").values == [1, nil, 25])
        #expect(try read("[]").values == [])
    }

    @Test(arguments: [
        ("", "the series file is empty"),
        ("a,b\nx,y\n", "invalid series: no column named 'value' and no numeric column (header: a, b)"),
        ("t,value\n1,2\n2,abc\n", "invalid series: line 3, column 'value': 'abc' is not a number"),
        ("t,value\n1,2,3\n", "invalid series: line 2 has 3 fields, the header has 2"),
        (#"[1, "two"]"#, "invalid series: element 1 is not a number or null"),
    ])
    func badFilesSayWhatIsWrong(text: String, message: String) {
        let error = #expect(throws: SeriesFile.ReadError.self) { try read(text) }
        #expect(error?.description == message)
    }
}
