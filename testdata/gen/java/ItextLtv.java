// ItextLtv extends the signatures of a PDF to PAdES B-LTA with iText 5: it adds a /DSS with the
// CA's CRL and the certificates of every signature (B-LT), then a document time-stamp
// (SubFilter ETSI.RFC3161) from LocalTsa over everything (B-LTA), in one incremental update.
// Revocation data is offline (a committed CRL), so the result is reproducible without network.
//
// Usage:
//   java -cp CLASSPATH ItextLtv IN.pdf OUT.pdf CA.crl TSA.pem TSA.key CA.pem
import com.itextpdf.text.pdf.AcroFields;
import com.itextpdf.text.pdf.PdfReader;
import com.itextpdf.text.pdf.PdfSignatureAppearance;
import com.itextpdf.text.pdf.PdfStamper;
import com.itextpdf.text.pdf.security.CrlClientOffline;
import com.itextpdf.text.pdf.security.LtvTimestamp;
import com.itextpdf.text.pdf.security.LtvVerification;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.security.Security;
import java.security.cert.CRL;
import java.security.cert.CertificateFactory;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

public final class ItextLtv {
    public static void main(String[] args) throws Exception {
        if (args.length != 6) {
            System.err.println("usage: ItextLtv IN.pdf OUT.pdf CA.crl TSA.pem TSA.key CA.pem");
            System.exit(2);
        }
        Security.addProvider(new BouncyCastleProvider());
        CRL crl;
        try (FileInputStream in = new FileInputStream(args[2])) {
            crl = CertificateFactory.getInstance("X.509").generateCRL(in);
        }
        CrlClientOffline crlClient = new CrlClientOffline(crl);
        LocalTsa tsa = new LocalTsa(args[3], args[4], args[5]);

        PdfReader reader = new PdfReader(args[0]);
        try (FileOutputStream out = new FileOutputStream(args[1])) {
            PdfStamper stamper = PdfStamper.createSignature(reader, out, '\0', null, true);
            LtvVerification ltv = stamper.getLtvVerification();
            AcroFields fields = stamper.getAcroFields();
            for (String name : fields.getSignatureNames()) {
                // WHOLE_CHAIN asks for revocation data of every non-root certificate; the
                // offline client answers each request with the CA's CRL.
                ltv.addVerification(name, null, crlClient, LtvVerification.CertificateOption.WHOLE_CHAIN,
                        LtvVerification.Level.CRL, LtvVerification.CertificateInclusion.YES);
            }
            PdfSignatureAppearance app = stamper.getSignatureAppearance();
            LtvTimestamp.timestamp(app, tsa, "DocTimeStamp1");
        }
        reader.close();
    }
}
