/// The text of every figure (line charts, heat maps, feature grids, side-by-side panels): one colour and one title
/// size, declared once so that figures shown together in a notebook's report read alike.
enum FigureText {
    static let color = RGB(0.1, 0.1, 0.1)
    static let titleScale = 2
}
