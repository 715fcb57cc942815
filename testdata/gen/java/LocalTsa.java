// LocalTsa is an in-process RFC 3161 time-stamping authority for iText 5 (its TSAClient
// interface), signing tokens with the committed test TSA key. It lets the corpus hold PAdES B-T
// and B-LTA files made by iText without any network: the token is exactly what a real TSA would
// return (SHA-256 imprint, ESSCertIDv2, certificates included, nonce-free).
import com.itextpdf.text.pdf.security.TSAClient;
import java.io.FileReader;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaCertStore;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoGeneratorBuilder;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.bouncycastle.tsp.TSPAlgorithms;
import org.bouncycastle.tsp.TimeStampRequest;
import org.bouncycastle.tsp.TimeStampRequestGenerator;
import org.bouncycastle.tsp.TimeStampTokenGenerator;

public final class LocalTsa implements TSAClient {
    // A policy OID under the "example" arc: the test TSA has no real policy.
    private static final ASN1ObjectIdentifier POLICY = new ASN1ObjectIdentifier("1.3.6.1.4.1.99999.1");
    private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

    private final TimeStampTokenGenerator generator;

    public LocalTsa(String certPem, String keyPem, String caPem) throws Exception {
        X509Certificate cert = readCert(certPem);
        X509Certificate ca = readCert(caPem);
        PrivateKey key;
        try (PEMParser p = new PEMParser(new FileReader(keyPem))) {
            key = new JcaPEMKeyConverter().getPrivateKey((PrivateKeyInfo) p.readObject());
        }
        generator = new TimeStampTokenGenerator(
                new JcaSimpleSignerInfoGeneratorBuilder().build("SHA256withRSA", key, cert),
                new JcaDigestCalculatorProviderBuilder().build().get(new AlgorithmIdentifier(NISTObjectIdentifiers.id_sha256)),
                POLICY);
        generator.addCertificates(new JcaCertStore(Arrays.asList(cert, ca)));
    }

    private static X509Certificate readCert(String path) throws Exception {
        try (PEMParser p = new PEMParser(new FileReader(path))) {
            return new JcaX509CertificateConverter().getCertificate((X509CertificateHolder) p.readObject());
        }
    }

    @Override
    public int getTokenSizeEstimate() {
        return 8192; // token with two RSA certificates is about 4 KB
    }

    @Override
    public MessageDigest getMessageDigest() throws GeneralSecurityException {
        return MessageDigest.getInstance("SHA-256");
    }

    @Override
    public byte[] getTimeStampToken(byte[] imprint) throws Exception {
        TimeStampRequestGenerator reqGen = new TimeStampRequestGenerator();
        reqGen.setCertReq(true);
        TimeStampRequest req = reqGen.generate(TSPAlgorithms.SHA256, imprint);
        return generator.generate(req, BigInteger.valueOf(SERIAL.incrementAndGet()), new Date()).getEncoded();
    }
}
