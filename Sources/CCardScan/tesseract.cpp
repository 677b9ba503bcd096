// Tesseract line recognition: the strip enlarged 2x with a white border, one text line, the MRZ alphabet only,
// no dictionaries. Each recognised symbol is placed in the grid cell under its box centre; its LSTM choices
// become that cell's probabilities. Cells without a symbol stay uniform (unknown).

#include "tesseract.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sys/stat.h>
#include <vector>

#include <opencv2/imgproc.hpp>
#include <tesseract/baseapi.h>
#include <tesseract/resultiterator.h>

namespace enrolld_scan {

namespace {
constexpr int kEnlarge = 2;
constexpr int kBorder = 16;
}  // namespace

TesseractLineRecognizer::TesseractLineRecognizer() = default;

TesseractLineRecognizer::~TesseractLineRecognizer() {
    if (api_) api_->End();
}

bool TesseractLineRecognizer::load(const std::string &tessdata, std::string &message) {
    struct stat info;
    std::string file = tessdata + "/eng.traineddata";
    if (stat(file.c_str(), &info) != 0) {
        message = "Tesseract data " + file + " not found: install tesseract-ocr-eng";
        return false;
    }
    api_ = std::make_unique<tesseract::TessBaseAPI>();
    std::vector<std::string> names = {"load_system_dawg", "load_freq_dawg", "debug_file"};
    std::vector<std::string> values = {"0", "0", "/dev/null"};
    if (api_->Init(tessdata.c_str(), "eng", tesseract::OEM_LSTM_ONLY, nullptr, 0, &names, &values, false) != 0) {
        message = "Tesseract failed to load " + file;
        api_.reset();
        return false;
    }
    api_->SetPageSegMode(tesseract::PSM_SINGLE_LINE);
    api_->SetVariable("tessedit_char_whitelist", ENROLLD_SCAN_CLASSES);
    api_->SetVariable("lstm_choice_mode", "2");
    return true;
}

void TesseractLineRecognizer::read(const cv::Mat &strip, double first_cell, double pitch, int count,
                                   enrolld_scan_glyph *glyphs, double &sharpness) const {
    const float uniform = 1.0f / ENROLLD_SCAN_CLASS_COUNT;
    for (int k = 0; k < count; ++k) std::fill(glyphs[k].probabilities, glyphs[k].probabilities +
                                              ENROLLD_SCAN_CLASS_COUNT, uniform);
    sharpness = 0;
    cv::Mat large, padded;
    cv::resize(strip, large, cv::Size(), kEnlarge, kEnlarge, cv::INTER_CUBIC);
    cv::copyMakeBorder(large, padded, kBorder, kBorder, kBorder, kBorder, cv::BORDER_CONSTANT, cv::Scalar(255));
    std::lock_guard<std::mutex> lock(mutex_);
    api_->SetImage(padded.data, padded.cols, padded.rows, 1, static_cast<int>(padded.step));
    api_->SetSourceResolution(300);
    if (api_->Recognize(nullptr) != 0) return;
    std::unique_ptr<tesseract::ResultIterator> iterator(api_->GetIterator());
    if (!iterator) return;
    std::vector<bool> filled(static_cast<size_t>(count), false);
    double confidence_sum = 0;
    const tesseract::PageIteratorLevel level = tesseract::RIL_SYMBOL;
    do {
        int left = 0, top = 0, right = 0, bottom = 0;
        if (!iterator->BoundingBox(level, &left, &top, &right, &bottom)) continue;
        double centre = ((left + right) / 2.0 - kBorder) / kEnlarge;
        int cell = static_cast<int>(std::floor((centre - first_cell) / pitch));
        if (cell < 0 || cell >= count || filled[static_cast<size_t>(cell)]) continue;
        std::vector<std::pair<int, float>> choices;
        std::unique_ptr<char[]> text(iterator->GetUTF8Text(level));
        if (text && std::strlen(text.get()) == 1) {
            int index = class_index(text[0]);
            if (index >= 0) choices.push_back({index, iterator->Confidence(level)});
        }
        tesseract::ChoiceIterator alternatives(*iterator);
        do {
            const char *choice = alternatives.GetUTF8Text();
            if (choice == nullptr || std::strlen(choice) != 1) continue;
            int index = class_index(choice[0]);
            if (index < 0) continue;
            bool seen = false;
            for (auto &entry : choices) seen = seen || entry.first == index;
            if (!seen) choices.push_back({index, alternatives.Confidence()});
        } while (alternatives.Next());
        if (choices.empty()) continue;
        float *probabilities = glyphs[cell].probabilities;
        const float floor_mass = 0.02f;
        double weight_sum = 0;
        for (auto &entry : choices) weight_sum += std::max(1.0f, entry.second);
        std::fill(probabilities, probabilities + ENROLLD_SCAN_CLASS_COUNT, floor_mass / ENROLLD_SCAN_CLASS_COUNT);
        for (auto &entry : choices) {
            probabilities[entry.first] += static_cast<float>((1 - floor_mass) * std::max(1.0f, entry.second) /
                                                             weight_sum);
        }
        filled[static_cast<size_t>(cell)] = true;
        confidence_sum += choices.front().second / 100.0;
    } while (iterator->Next(level));
    sharpness = count > 0 ? confidence_sum / count : 0;
}

}  // namespace enrolld_scan
