#include "apps/png_render.hpp"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>

#include "common/atomic_file.hpp"
#include "common/error.hpp"

namespace flowpic {

namespace {

// A 5 x 7 bitmap font: seven rows per glyph, the low five bits of each row, left pixel = bit 4.
// Letters of both cases (lower case in the x-height of rows 2-6, descenders folded into row 6 as
// on 5 x 7 character displays), digits and a little punctuation; anything else is drawn as '?'.
struct Glyph {
  char c;
  unsigned char rows[7];
};
constexpr Glyph kFont[] = {
    {'A', {14, 17, 17, 31, 17, 17, 17}}, {'B', {30, 17, 17, 30, 17, 17, 30}}, {'C', {14, 17, 16, 16, 16, 17, 14}},
    {'D', {28, 18, 17, 17, 17, 18, 28}}, {'E', {31, 16, 16, 30, 16, 16, 31}}, {'F', {31, 16, 16, 30, 16, 16, 16}},
    {'G', {14, 17, 16, 23, 17, 17, 15}}, {'H', {17, 17, 17, 31, 17, 17, 17}}, {'I', {14, 4, 4, 4, 4, 4, 14}},
    {'J', {7, 2, 2, 2, 2, 18, 12}},      {'K', {17, 18, 20, 24, 20, 18, 17}}, {'L', {16, 16, 16, 16, 16, 16, 31}},
    {'M', {17, 27, 21, 21, 17, 17, 17}}, {'N', {17, 17, 25, 21, 19, 17, 17}}, {'O', {14, 17, 17, 17, 17, 17, 14}},
    {'P', {30, 17, 17, 30, 16, 16, 16}}, {'Q', {14, 17, 17, 17, 21, 18, 13}}, {'R', {30, 17, 17, 30, 20, 18, 17}},
    {'S', {15, 16, 16, 14, 1, 1, 30}},   {'T', {31, 4, 4, 4, 4, 4, 4}},       {'U', {17, 17, 17, 17, 17, 17, 14}},
    {'V', {17, 17, 17, 17, 17, 10, 4}},  {'W', {17, 17, 17, 21, 21, 21, 10}}, {'X', {17, 17, 10, 4, 10, 17, 17}},
    {'Y', {17, 17, 17, 10, 4, 4, 4}},    {'Z', {31, 1, 2, 4, 8, 16, 31}},     {'0', {14, 17, 19, 21, 25, 17, 14}},
    {'1', {4, 12, 4, 4, 4, 4, 14}},      {'2', {14, 17, 1, 2, 4, 8, 31}},     {'3', {31, 2, 4, 2, 1, 17, 14}},
    {'4', {2, 6, 10, 18, 31, 2, 2}},     {'5', {31, 16, 30, 1, 1, 17, 14}},   {'6', {6, 8, 16, 30, 17, 17, 14}},
    {'7', {31, 1, 2, 4, 8, 8, 8}},       {'8', {14, 17, 17, 14, 17, 17, 14}}, {'9', {14, 17, 17, 15, 1, 2, 12}},
    {'.', {0, 0, 0, 0, 0, 12, 12}},      {',', {0, 0, 0, 0, 12, 4, 8}},       {'-', {0, 0, 0, 31, 0, 0, 0}},
    {'+', {0, 4, 4, 31, 4, 4, 0}},       {'=', {0, 0, 31, 0, 31, 0, 0}},      {'(', {2, 4, 8, 8, 8, 4, 2}},
    {')', {8, 4, 2, 2, 2, 4, 8}},        {'/', {0, 1, 2, 4, 8, 16, 0}},       {':', {0, 12, 12, 0, 12, 12, 0}},
    {'_', {0, 0, 0, 0, 0, 0, 31}},       {'%', {24, 25, 2, 4, 8, 19, 3}},     {'?', {14, 17, 1, 2, 4, 0, 4}},
    {' ', {0, 0, 0, 0, 0, 0, 0}},        {'a', {0, 0, 14, 1, 15, 17, 15}},    {'b', {16, 16, 22, 25, 17, 17, 30}},
    {'c', {0, 0, 14, 16, 16, 17, 14}},   {'d', {1, 1, 13, 19, 17, 17, 15}},   {'e', {0, 0, 14, 17, 31, 16, 14}},
    {'f', {6, 9, 8, 28, 8, 8, 8}},       {'g', {0, 15, 17, 17, 15, 1, 14}},   {'h', {16, 16, 22, 25, 17, 17, 17}},
    {'i', {4, 0, 12, 4, 4, 4, 14}},      {'j', {2, 0, 6, 2, 2, 18, 12}},      {'k', {16, 16, 18, 20, 24, 20, 18}},
    {'l', {12, 4, 4, 4, 4, 4, 14}},      {'m', {0, 0, 26, 21, 21, 17, 17}},   {'n', {0, 0, 22, 25, 17, 17, 17}},
    {'o', {0, 0, 14, 17, 17, 17, 14}},   {'p', {0, 0, 30, 17, 30, 16, 16}},   {'q', {0, 0, 13, 19, 15, 1, 1}},
    {'r', {0, 0, 22, 25, 16, 16, 16}},   {'s', {0, 0, 14, 16, 14, 1, 30}},    {'t', {8, 8, 28, 8, 8, 9, 6}},
    {'u', {0, 0, 17, 17, 17, 19, 13}},   {'v', {0, 0, 17, 17, 17, 10, 4}},    {'w', {0, 0, 17, 17, 21, 21, 10}},
    {'x', {0, 0, 17, 10, 4, 10, 17}},    {'y', {0, 0, 17, 17, 15, 1, 14}},    {'z', {0, 0, 31, 2, 4, 8, 31}},
};

const Glyph& glyph(char c) {
  for (const Glyph& g : kFont)
    if (g.c == c) return g;
  for (const Glyph& g : kFont)
    if (g.c == '?') return g;
  return kFont[0];
}

constexpr int kAdvance = 6;  // 5 columns and a space

struct Rgb {
  unsigned char r, g, b;
};

// The log colour scale: 0 is white; then light yellow, orange, red, dark purple at the maximum.
Rgb colour(double v) {  // v in [0, 1], v > 0 for any count > 0
  static const Rgb stops[] = {{255, 247, 188}, {254, 196, 79}, {236, 112, 20}, {204, 24, 30}, {63, 0, 95}};
  v = std::clamp(v, 0.0, 1.0) * 4.0;
  int i = std::min(3, static_cast<int>(v));
  double f = v - i;
  auto mix = [&](unsigned char a, unsigned char b) { return static_cast<unsigned char>(std::lround(a + (b - a) * f)); };
  return {mix(stops[i].r, stops[i + 1].r), mix(stops[i].g, stops[i + 1].g), mix(stops[i].b, stops[i + 1].b)};
}

std::string number(double v) {
  char buf[32];
  if (v == std::floor(v))
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// libpng reports errors through longjmp; only plain data lives in this frame.
bool write_png_file(const char* path, const unsigned char* rgb, int width, int height, std::string& error) {
  FILE* fp = std::fopen(path, "wb");
  if (!fp) {
    error = std::strerror(errno);
    return false;
  }
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info) {
    png_destroy_write_struct(&png, &info);
    std::fclose(fp);
    error = "libpng could not start";
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    std::fclose(fp);
    error = "libpng failed while writing";
    return false;
  }
  png_init_io(png, fp);
  png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < height; ++y)
    png_write_row(png, const_cast<unsigned char*>(rgb + static_cast<size_t>(y) * width * 3));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  if (std::fclose(fp) != 0) {
    error = std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace

int text_width(const std::string& text, int scale) {
  return text.empty() ? 0 : (static_cast<int>(text.size()) * kAdvance - 1) * scale;
}

void draw_text(std::vector<unsigned char>& rgb, int width, int height, int x, int y, const std::string& text, int scale,
               unsigned char r, unsigned char g, unsigned char b, bool vertical) {
  // Horizontal: (x, y) is the top-left corner. Vertical (read bottom to top): (x, y) is the
  // bottom-left corner and the glyphs are turned 90 degrees anticlockwise.
  auto put = [&](int px, int py) {
    if (px < 0 || py < 0 || px >= width || py >= height) return;
    unsigned char* p = &rgb[(static_cast<size_t>(py) * width + px) * 3];
    p[0] = r;
    p[1] = g;
    p[2] = b;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const Glyph& gl = glyph(text[i]);
    for (int row = 0; row < 7; ++row)
      for (int col = 0; col < 5; ++col) {
        if (!(gl.rows[row] & (1 << (4 - col)))) continue;
        for (int dy = 0; dy < scale; ++dy)
          for (int dx = 0; dx < scale; ++dx) {
            int gx = (static_cast<int>(i) * kAdvance + col) * scale + dx;  // along the text
            int gy = row * scale + dy;                                     // down the glyph
            if (vertical)
              put(x + gy, y - gx);
            else
              put(x + gx, y + gy);
          }
      }
  }
}

void write_panels_png(const std::string& path, const std::vector<RenderPanel>& panels, const RenderOptions& opt) {
  if (panels.empty()) fail("render: nothing to draw for ", path);
  const int R = panels[0].height;
  for (const auto& p : panels)
    if (p.height != R || p.width != panels[0].width ||
        p.pixels.size() != static_cast<size_t>(p.channels) * p.height * p.width)
      fail("render: panels of different shapes for ", path);
  // Drawn side: each drawn pixel covers `block` x `block` image pixels (counts summed), or each
  // image pixel is drawn `zoom` x `zoom`.
  int block = 1, zoom = 1;
  if (opt.panel_px > 0) {
    if (opt.panel_px >= R)
      zoom = std::max(1, opt.panel_px / R);
    else
      block = (R + opt.panel_px - 1) / opt.panel_px;
  } else if (R > 500) {
    block = (R + 499) / 500;
  } else {
    zoom = std::max(1, 256 / R);
  }
  const int side = (R + block - 1) / block * zoom;
  const int scale = 2, margin_l = 20 + text_width(opt.flowpic ? number(opt.y_max) : "00", scale), margin_b = 50,
            margin_t = 30, gap = 30, margin_r = 20;
  const int width = margin_l + static_cast<int>(panels.size()) * (side + gap) - gap + margin_r;
  const int height = margin_t + side + margin_b;
  std::vector<unsigned char> rgb(static_cast<size_t>(width) * height * 3, 255);

  // One scale for all panels so they compare.
  std::vector<std::vector<double>> cells(panels.size());
  double top = 0;
  const int cells_side = (R + block - 1) / block;
  for (size_t k = 0; k < panels.size(); ++k) {
    const RenderPanel& p = panels[k];
    cells[k].assign(static_cast<size_t>(cells_side) * cells_side, 0.0);
    for (int c = 0; c < p.channels; ++c)
      for (int y = 0; y < R; ++y)
        for (int x = 0; x < R; ++x)
          cells[k][static_cast<size_t>(y / block) * cells_side + x / block] +=
              p.pixels[(static_cast<size_t>(c) * R + y) * R + x];
    for (double v : cells[k]) top = std::max(top, v);
  }
  for (size_t k = 0; k < panels.size(); ++k) {
    const int x0 = margin_l + static_cast<int>(k) * (side + gap), y0 = margin_t;
    for (int cy = 0; cy < cells_side; ++cy)
      for (int cx = 0; cx < cells_side; ++cx) {
        double v = cells[k][static_cast<size_t>(cy) * cells_side + cx];
        Rgb col{255, 255, 255};
        if (opt.flowpic) {
          if (v > 0) col = colour(0.15 + 0.85 * std::log1p(v) / std::log1p(top));
        } else {
          // Payload image: row-major arrival order from the top; darker = larger.
          double g = block * block > 0 ? v / (static_cast<double>(block) * block * panels[k].channels) : 0;
          auto level = static_cast<unsigned char>(std::lround(255.0 * (1.0 - std::clamp(g, 0.0, 1.0))));
          col = {level, level, level};
        }
        // FlowPic rows are sizes: size 0 at the bottom.
        const int dy = opt.flowpic ? (cells_side - 1 - cy) : cy;
        for (int zy = 0; zy < zoom; ++zy)
          for (int zx = 0; zx < zoom; ++zx) {
            unsigned char* px = &rgb[(static_cast<size_t>(y0 + dy * zoom + zy) * width + x0 + cx * zoom + zx) * 3];
            px[0] = col.r;
            px[1] = col.g;
            px[2] = col.b;
          }
      }
    // Frame.
    for (int i = -1; i <= side; ++i) {
      for (auto [x, y] : {std::pair{x0 + i, y0 - 1}, {x0 + i, y0 + side}, {x0 - 1, y0 + i}, {x0 + side, y0 + i}}) {
        unsigned char* px = &rgb[(static_cast<size_t>(y) * width + x) * 3];
        px[0] = px[1] = px[2] = 0;
      }
    }
    draw_text(rgb, width, height, x0 + (side - text_width(panels[k].title, scale)) / 2, 8, panels[k].title, scale, 0, 0,
              0);
    if (opt.flowpic) {
      const std::string x_right = opt.x_max > 0 ? number(opt.x_max) : "1";
      draw_text(rgb, width, height, x0, y0 + side + 6, "0", scale, 0, 0, 0);
      draw_text(rgb, width, height, x0 + side - text_width(x_right, scale), y0 + side + 6, x_right, scale, 0, 0, 0);
      const std::string xl = opt.x_max > 0 ? "TIME (S)" : "TIME (SPAN)";
      draw_text(rgb, width, height, x0 + (side - text_width(xl, scale)) / 2, y0 + side + 28, xl, scale, 0, 0, 0);
      if (k == 0) {
        draw_text(rgb, width, height, x0 - 6 - text_width("0", scale), y0 + side - 14, "0", scale, 0, 0, 0);
        const std::string top_label = number(opt.y_max);
        draw_text(rgb, width, height, x0 - 6 - text_width(top_label, scale), y0, top_label, scale, 0, 0, 0);
        const std::string yl = "SIZE (B)";
        draw_text(rgb, width, height, 4, y0 + (side + text_width(yl, scale)) / 2, yl, scale, 0, 0, 0, true);
      }
    } else {
      const std::string xl = "ARRIVAL ORDER";
      draw_text(rgb, width, height, x0 + (side - text_width(xl, scale)) / 2, y0 + side + 10, xl, scale, 0, 0, 0);
    }
  }

  AtomicFile file(path);
  std::string error;
  if (!write_png_file(file.temp_path().c_str(), rgb.data(), width, height, error))
    fail("cannot write ", path, ": ", error);
  file.commit();
}

}  // namespace flowpic
