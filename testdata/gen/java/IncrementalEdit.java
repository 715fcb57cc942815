// IncrementalEdit appends one incremental update to a PDF with iText 5 in append mode: it adds a
// sticky-note annotation to page 1 and sets /Subject in the document information. The corpus
// uses it for files that already have more than one revision before we sign them, made by a tool
// we did not write.
//
// Usage:
//   java -cp CLASSPATH IncrementalEdit IN.pdf OUT.pdf NOTE-TEXT [--owner-pw PW]
import com.itextpdf.text.Rectangle;
import com.itextpdf.text.pdf.PdfAnnotation;
import com.itextpdf.text.pdf.PdfReader;
import com.itextpdf.text.pdf.PdfStamper;
import java.io.FileOutputStream;
import java.util.HashMap;

public final class IncrementalEdit {
    public static void main(String[] args) throws Exception {
        if (args.length != 3 && args.length != 5) {
            System.err.println("usage: IncrementalEdit IN.pdf OUT.pdf NOTE-TEXT [--owner-pw PW]");
            System.exit(2);
        }
        PdfReader reader = args.length == 5 && args[3].equals("--owner-pw")
                ? new PdfReader(args[0], args[4].getBytes("ISO-8859-1"))
                : new PdfReader(args[0]);
        try (FileOutputStream out = new FileOutputStream(args[1])) {
            // true = append mode: the original bytes stay an exact prefix of the output.
            PdfStamper stamper = new PdfStamper(reader, out, '\0', true);
            Rectangle box = new Rectangle(36, 760, 56, 780);
            PdfAnnotation note = PdfAnnotation.createText(stamper.getWriter(), box, "Ghi chú", args[2], false, "Comment");
            stamper.addAnnotation(note, 1);
            HashMap<String, String> info = reader.getInfo();
            info.put("Subject", args[2]);
            stamper.setMoreInfo(info);
            stamper.close();
        }
        reader.close();
    }
}
