// Tesseract 5 (LSTM, eng.traineddata from Debian's tesseract-ocr-eng) as a line recogniser, for comparison with
// our OCR-B classifier on the same straightened strips. Internal to CCardScan.
#ifndef ENROLLD_CCARDSCAN_TESSERACT_HPP
#define ENROLLD_CCARDSCAN_TESSERACT_HPP

#include <memory>
#include <mutex>
#include <string>

#include "read.hpp"

namespace tesseract {
class TessBaseAPI;
}

namespace enrolld_scan {

class TesseractLineRecognizer : public LineRecognizer {
public:
    TesseractLineRecognizer();
    ~TesseractLineRecognizer() override;
    // Loads eng.traineddata from `tessdata`; false with a message when it is missing.
    bool load(const std::string &tessdata, std::string &message);
    // One line at a time (TessBaseAPI is not reentrant): reads hold the mutex.
    void read(const cv::Mat &strip, double first_cell, double pitch, int count, enrolld_scan_glyph *glyphs,
              double &sharpness) const override;

private:
    mutable std::mutex mutex_;
    std::unique_ptr<tesseract::TessBaseAPI> api_;
};

}  // namespace enrolld_scan

#endif
