// FormFill sets AcroForm field values with iText 5 in append mode, the way a clerk's tool fills
// the number and date after the leader's certification signature. Used for corpus files whose
// later revision is a permitted (DocMDP P=2) form-fill change.
//
// Usage:
//   java -cp CLASSPATH FormFill IN.pdf OUT.pdf FIELD=VALUE...
import com.itextpdf.text.pdf.AcroFields;
import com.itextpdf.text.pdf.PdfReader;
import com.itextpdf.text.pdf.PdfStamper;
import java.io.FileOutputStream;

public final class FormFill {
    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: FormFill IN.pdf OUT.pdf FIELD=VALUE...");
            System.exit(2);
        }
        PdfReader reader = new PdfReader(args[0]);
        try (FileOutputStream out = new FileOutputStream(args[1])) {
            // Append mode keeps the signed revision byte-identical.
            PdfStamper stamper = new PdfStamper(reader, out, '\0', true);
            AcroFields form = stamper.getAcroFields();
            for (int i = 2; i < args.length; i++) {
                int eq = args[i].indexOf('=');
                if (eq <= 0) {
                    System.err.println("bad FIELD=VALUE: " + args[i]);
                    System.exit(2);
                }
                String name = args[i].substring(0, eq);
                if (form.getField(name) == null && form.getFieldItem(name) == null) {
                    System.err.println("no field " + name);
                    System.exit(1);
                }
                if (!form.setField(name, args[i].substring(eq + 1))) {
                    System.err.println("could not set " + name);
                    System.exit(1);
                }
            }
            stamper.close();
        }
        reader.close();
    }
}
