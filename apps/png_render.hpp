#pragma once
// Pictures of images for people (`flowpic_data render`): FlowPics on a log colour scale with
// the size axis upwards and time to the right, payload images as grey levels; several panels side
// by side with a title each (the paper's figure 2: one FlowPic per class). PNG through libpng;
// the axis labels use a small built-in bitmap font.
#include <string>
#include <vector>

namespace flowpic {

struct RenderPanel {
  std::string title;
  std::vector<float> pixels;  // C x H x W as built (FlowPic: raw counts; channels are summed)
  int channels = 1, height = 0, width = 0;
};

struct RenderOptions {
  bool flowpic = true;  // FlowPic (log colour scale, time/size axes) or payload image (grey)
  int panel_px = 0;     // drawn panel side; 0 = automatic (about 256 to 500 pixels)
  double x_max = 60;    // FlowPic: the time axis' length in seconds (0 = "span": normalised)
  double y_max = 1500;  // FlowPic: the size axis' top in bytes
};

// Writes atomically; errors name the path.
void write_panels_png(const std::string& path, const std::vector<RenderPanel>& panels, const RenderOptions& options);

// The pixel size of `text` in the built-in font at `scale`, and the text drawn into an RGB buffer
// (exposed for tests).
int text_width(const std::string& text, int scale);
void draw_text(std::vector<unsigned char>& rgb, int width, int height, int x, int y, const std::string& text, int scale,
               unsigned char r, unsigned char g, unsigned char b, bool vertical = false);

}  // namespace flowpic
