#!/bin/sh
# make-corpus.sh — regenerates testdata/corpus/*.pdf from the sources in testdata/gen.
# Run from the repository root: testdata/gen/make-corpus.sh
# Needs (Debian): libreoffice-writer-nogui chromium ghostscript texlive-latex-base qpdf
#   default-jdk-headless libitext5-java libpdfbox2-java libbcprov-java libbcpkix-java
#   fonts-liberation2 fonts-dejavu-core
# The PKI in testdata/corpus/pki is NOT regenerated here (run make-pki.sh on purpose): signed
# corpus files and tests depend on it.
# Outputs differ byte-wise between runs (dates, IDs); testdata/corpus/manifest.json describes
# properties that stay true, and signing/signtest tests check them.
set -eu
root=$(pwd)
gen=$root/testdata/gen
out=$root/testdata/corpus
pki=$out/pki
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# LibreOffice needs a writable profile; a private one keeps runs independent of the user's.
lo() {
	soffice --headless -env:UserInstallation=file://$work/lo-profile "$@" >/dev/null
}

# 1. LibreOffice Writer, classic xref table.
lo --convert-to pdf:writer_pdf_Export --outdir "$work" "$gen/quyet-dinh.fodt"
cp "$work/quyet-dinh.pdf" "$out/libreoffice-writer.pdf"

# 2. LibreOffice Writer with AcroForm fields (two text fields, one checkbox).
lo --convert-to 'pdf:writer_pdf_Export:{"ExportFormFields":{"type":"boolean","value":"true"}}' \
	--outdir "$work" "$gen/quyet-dinh-form.fodt"
cp "$work/quyet-dinh-form.pdf" "$out/libreoffice-form.pdf"

# 2b. LibreOffice Writer, PDF/A-2b (tagged, XMP metadata, output intent): what archives keep.
mkdir -p "$work/pdfa"
lo --convert-to 'pdf:writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"2"}}' \
	--outdir "$work/pdfa" "$gen/quyet-dinh.fodt"
cp "$work/pdfa/quyet-dinh.pdf" "$out/libreoffice-pdfa2b.pdf"

# 3. Headless Chromium (Skia/PDF).
chromium --headless --no-sandbox --disable-gpu --user-data-dir="$work/chromium" \
	--no-pdf-header-footer --print-to-pdf="$out/chromium.pdf" "file://$gen/quyet-dinh.html" 2>/dev/null

# 4. Ghostscript pdfwrite, re-distilling the LibreOffice output.
gs -q -dNOPAUSE -dBATCH -dSAFER -sDEVICE=pdfwrite -sOutputFile="$out/ghostscript.pdf" \
	"$out/libreoffice-writer.pdf"

# 5. pdfTeX (pdflatex twice so references settle).
(cd "$work" && pdflatex -interaction=nonstopmode -halt-on-error "$gen/pdftex-report.tex" >/dev/null &&
	pdflatex -interaction=nonstopmode -halt-on-error "$gen/pdftex-report.tex" >/dev/null)
cp "$work/pdftex-report.pdf" "$out/pdftex.pdf"

# 6-9. qpdf rewrites of the LibreOffice file.
qpdf --object-streams=generate "$out/libreoffice-writer.pdf" "$out/qpdf-objstm.pdf"
qpdf --linearize "$out/libreoffice-writer.pdf" "$out/qpdf-linearized.pdf"
qpdf --encrypt "" ownerpw 256 -- "$out/libreoffice-writer.pdf" "$out/qpdf-aes256-owner.pdf"
qpdf --encrypt "" ownerpw 128 --use-aes=y -- "$out/libreoffice-writer.pdf" "$out/qpdf-aes128-owner.pdf"

# 10. Hybrid-reference file (xref table + /XRefStm) from our own generator: no Debian tool writes one.
go run "$gen/hybrid/main.go" > "$out/hybrid.pdf"

# Java peers.
jars=/usr/share/java
cp="$jars/itext5.jar:$jars/pdfbox2.jar:$jars/fontbox2.jar:$jars/commons-logging.jar:$jars/bcprov.jar:$jars/bcpkix.jar:$jars/bcutil.jar"
javac -encoding UTF-8 -d "$work/classes" -cp "$cp" "$gen"/java/*.java
java="java -cp $work/classes:$cp"

# 11-12. Incremental updates by iText 5 append mode.
$java IncrementalEdit "$out/libreoffice-writer.pdf" "$out/itext-incremental.pdf" "Đã xem xét"
$java IncrementalEdit "$out/itext-incremental.pdf" "$work/rev3.pdf" "Trình ký"
$java IncrementalEdit "$work/rev3.pdf" "$out/itext-multirevision.pdf" "Đã trình lãnh đạo"

# 13-17. Files already signed by other tools.
$java ItextSign "$out/libreoffice-writer.pdf" "$out/itext-signed.pdf" "$pki/signer.p12" test
$java ItextSign "$out/qpdf-objstm.pdf" "$out/itext-signed-objstm.pdf" "$pki/signer.p12" test
$java ItextSign "$out/libreoffice-form.pdf" "$out/itext-certified-form.pdf" "$pki/signer.p12" test \
	--certify --field LanhDao
$java PdfboxSign "$out/chromium.pdf" "$out/pdfbox-signed.pdf" "$pki/signer.p12" test
$java PdfboxSign "$out/itext-signed.pdf" "$out/two-signatures.pdf" "$pki/signer.p12" test

# 18-22. Signed encrypted, signed hybrid, and changes after signing.
# iText 5 cannot open AES-256 (R6) files; PDFBox 2 can.
$java ItextSign "$out/qpdf-aes128-owner.pdf" "$out/itext-signed-aes128.pdf" "$pki/signer.p12" test \
	--owner-pw ownerpw
$java PdfboxSign "$out/qpdf-aes256-owner.pdf" "$out/pdfbox-signed-aes256.pdf" "$pki/signer.p12" test
$java ItextSign "$out/hybrid.pdf" "$out/itext-signed-hybrid.pdf" "$pki/signer.p12" test
$java IncrementalEdit "$out/itext-signed.pdf" "$out/itext-signed-then-annotated.pdf" "Sửa sau khi ký"
$java FormFill "$out/itext-certified-form.pdf" "$out/itext-certified-form-filled.pdf" \
	SoVanBan=123 NgayBanHanh=25/11/2026

# 23-24. PAdES B-T and B-LTA by iText 5 with the in-process test TSA (LocalTsa) and the CA's CRL.
tsa="$pki/tsa.pem $pki/tsa.key $pki/ca.pem"
$java ItextSign "$out/libreoffice-writer.pdf" "$out/itext-signed-bt.pdf" "$pki/signer.p12" test --tsa $tsa
$java ItextLtv "$out/itext-signed-bt.pdf" "$out/itext-blta.pdf" "$pki/ca.crl" $tsa
