"""Draw the app's icons (a folding seat, white on the site's dark blue) into
src/strapontin/public/static/strapontin/icons/. Run again after changing the drawing:

    .venv/bin/python scripts/make_icons.py

The PNGs are committed, so neither the demo nor the tests need Pillow at run time."""

from pathlib import Path

from PIL import Image, ImageDraw

ICONS = Path(__file__).resolve().parents[1] / "src/strapontin/public/static/strapontin/icons"
BRAND_DARK = "#1e3a8a"  # --brand-dark in site.css: the header's colour, the manifest's theme
WHITE = "#ffffff"
SCALE = 4  # drawn larger, then reduced: smooth edges without anti-aliasing primitives


def draw_seat(size: int, *, content: float, rounded: bool) -> Image.Image:
    """A folding seat seen from the side: a back, a seat folded down, a hinge and a leg.
    `content` is the share of the side the drawing fills (maskable icons keep it inside
    the safe zone, a centred circle of 80 %)."""
    big = size * SCALE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    radius = big // 5 if rounded else 0
    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=radius, fill=BRAND_DARK)

    box = big * content
    left = (big - box) / 2
    top = (big - box) / 2

    def at(x: float, y: float) -> tuple[float, float]:
        return (left + x * box, top + y * box)

    stroke = round(box * 0.11)
    # Back, slightly reclined.
    draw.line([at(0.30, 0.08), at(0.36, 0.58)], fill=WHITE, width=stroke)
    # Seat.
    draw.line([at(0.36, 0.58), at(0.86, 0.58)], fill=WHITE, width=stroke)
    # Leg, fixed to the wall-side of the seat, and the floor.
    draw.line([at(0.36, 0.58), at(0.36, 0.92)], fill=WHITE, width=stroke)
    draw.line([at(0.14, 0.92), at(0.62, 0.92)], fill=WHITE, width=round(stroke * 0.6))
    # The hinge: a round joint where the seat folds up.
    hinge = stroke * 0.9
    cx, cy = at(0.36, 0.58)
    draw.ellipse((cx - hinge, cy - hinge, cx + hinge, cy + hinge), fill=WHITE)
    # Round the line ends.
    for x, y in [(0.30, 0.08), (0.86, 0.58)]:
        px, py = at(x, y)
        r = stroke / 2
        draw.ellipse((px - r, py - r, px + r, py + r), fill=WHITE)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    ICONS.mkdir(parents=True, exist_ok=True)
    outputs = {
        "icon-192.png": draw_seat(192, content=0.72, rounded=True),
        "icon-512.png": draw_seat(512, content=0.72, rounded=True),
        # Full bleed: the platform cuts its own shape; the seat stays inside the safe zone.
        "icon-maskable-512.png": draw_seat(512, content=0.56, rounded=False),
        # iOS rounds the corners itself and shows transparency as black.
        "apple-touch-icon.png": draw_seat(180, content=0.72, rounded=False),
        "favicon-32.png": draw_seat(32, content=0.8, rounded=True),
    }
    for name, image in outputs.items():
        image.save(ICONS / name, optimize=True)
        print(ICONS / name)


if __name__ == "__main__":
    main()
