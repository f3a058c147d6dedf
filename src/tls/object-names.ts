// The names OpenSSL gives the object identifiers mod_ssl prints: a distinguished name's attribute types (the short
// name, as X509_NAME_print_ex writes it) and the signature and key algorithms (the long name, SSL_CLIENT_A_SIG and
// A_KEY). Copied from OpenSSL 3.0's obj_mac.h, the library Debian's apache2 links: every attribute type under X.520
// (2.5.4), the pilot (0.9.2342.19200300.100.1) and PKCS #9 ones, EV jurisdiction, and the algorithms a client
// certificate can carry. An identifier OpenSSL knows but this table lacks prints as OpenSSL prints an unknown one.

/** One line per object, tab-separated: dotted identifier, short name, long name where it differs. */
const TABLE = `
0.9.2342.19200300.100.1.1	UID	userId
0.9.2342.19200300.100.1.2	textEncodedORAddress
0.9.2342.19200300.100.1.3	mail	rfc822Mailbox
0.9.2342.19200300.100.1.4	info
0.9.2342.19200300.100.1.5	favouriteDrink
0.9.2342.19200300.100.1.6	roomNumber
0.9.2342.19200300.100.1.7	photo
0.9.2342.19200300.100.1.8	userClass
0.9.2342.19200300.100.1.9	host
0.9.2342.19200300.100.1.10	manager
0.9.2342.19200300.100.1.11	documentIdentifier
0.9.2342.19200300.100.1.12	documentTitle
0.9.2342.19200300.100.1.13	documentVersion
0.9.2342.19200300.100.1.14	documentAuthor
0.9.2342.19200300.100.1.15	documentLocation
0.9.2342.19200300.100.1.20	homeTelephoneNumber
0.9.2342.19200300.100.1.21	secretary
0.9.2342.19200300.100.1.22	otherMailbox
0.9.2342.19200300.100.1.23	lastModifiedTime
0.9.2342.19200300.100.1.24	lastModifiedBy
0.9.2342.19200300.100.1.25	DC	domainComponent
0.9.2342.19200300.100.1.26	aRecord
0.9.2342.19200300.100.1.27	pilotAttributeType27
0.9.2342.19200300.100.1.28	mXRecord
0.9.2342.19200300.100.1.29	nSRecord
0.9.2342.19200300.100.1.30	sOARecord
0.9.2342.19200300.100.1.31	cNAMERecord
0.9.2342.19200300.100.1.37	associatedDomain
0.9.2342.19200300.100.1.38	associatedName
0.9.2342.19200300.100.1.39	homePostalAddress
0.9.2342.19200300.100.1.40	personalTitle
0.9.2342.19200300.100.1.41	mobileTelephoneNumber
0.9.2342.19200300.100.1.42	pagerTelephoneNumber
0.9.2342.19200300.100.1.43	friendlyCountryName
0.9.2342.19200300.100.1.44	uid	uniqueIdentifier
0.9.2342.19200300.100.1.45	organizationalStatus
0.9.2342.19200300.100.1.46	janetMailbox
0.9.2342.19200300.100.1.47	mailPreferenceOption
0.9.2342.19200300.100.1.48	buildingName
0.9.2342.19200300.100.1.49	dSAQuality
0.9.2342.19200300.100.1.50	singleLevelQuality
0.9.2342.19200300.100.1.51	subtreeMinimumQuality
0.9.2342.19200300.100.1.52	subtreeMaximumQuality
0.9.2342.19200300.100.1.53	personalSignature
0.9.2342.19200300.100.1.54	dITRedirect
0.9.2342.19200300.100.1.55	audio
0.9.2342.19200300.100.1.56	documentPublisher
1.2.156.10197.1.301	SM2	sm2
1.2.156.10197.1.501	SM2-SM3	SM2-with-SM3
1.2.840.10040.4.1	DSA	dsaEncryption
1.2.840.10040.4.3	DSA-SHA1	dsaWithSHA1
1.2.840.10045.2.1	id-ecPublicKey
1.2.840.10045.4.1	ecdsa-with-SHA1
1.2.840.10045.4.2	ecdsa-with-Recommended
1.2.840.10045.4.3	ecdsa-with-Specified
1.2.840.10045.4.3.1	ecdsa-with-SHA224
1.2.840.10045.4.3.2	ecdsa-with-SHA256
1.2.840.10045.4.3.3	ecdsa-with-SHA384
1.2.840.10045.4.3.4	ecdsa-with-SHA512
1.2.840.113549.1.1.1	rsaEncryption
1.2.840.113549.1.1.2	RSA-MD2	md2WithRSAEncryption
1.2.840.113549.1.1.3	RSA-MD4	md4WithRSAEncryption
1.2.840.113549.1.1.4	RSA-MD5	md5WithRSAEncryption
1.2.840.113549.1.1.5	RSA-SHA1	sha1WithRSAEncryption
1.2.840.113549.1.1.6	rsaOAEPEncryptionSET
1.2.840.113549.1.1.7	RSAES-OAEP	rsaesOaep
1.2.840.113549.1.1.8	MGF1	mgf1
1.2.840.113549.1.1.9	PSPECIFIED	pSpecified
1.2.840.113549.1.1.10	RSASSA-PSS	rsassaPss
1.2.840.113549.1.1.11	RSA-SHA256	sha256WithRSAEncryption
1.2.840.113549.1.1.12	RSA-SHA384	sha384WithRSAEncryption
1.2.840.113549.1.1.13	RSA-SHA512	sha512WithRSAEncryption
1.2.840.113549.1.1.14	RSA-SHA224	sha224WithRSAEncryption
1.2.840.113549.1.1.15	RSA-SHA512/224	sha512-224WithRSAEncryption
1.2.840.113549.1.1.16	RSA-SHA512/256	sha512-256WithRSAEncryption
1.2.840.113549.1.3.1	dhKeyAgreement
1.2.840.113549.1.9.1	emailAddress
1.2.840.113549.1.9.2	unstructuredName
1.2.840.113549.1.9.3	contentType
1.2.840.113549.1.9.4	messageDigest
1.2.840.113549.1.9.5	signingTime
1.2.840.113549.1.9.6	countersignature
1.2.840.113549.1.9.7	challengePassword
1.2.840.113549.1.9.8	unstructuredAddress
1.2.840.113549.1.9.9	extendedCertificateAttributes
1.2.840.113549.1.9.14	extReq	Extension Request
1.2.840.113549.1.9.15	SMIME-CAPS	S/MIME Capabilities
1.2.840.113549.1.9.16	SMIME	S/MIME
1.2.840.113549.1.9.20	friendlyName
1.2.840.113549.1.9.21	localKeyID
1.2.840.113549.1.9.22	
1.2.840.113549.1.9.23	
1.3.6.1.4.1.311.20.2.3	msUPN	Microsoft User Principal Name
1.3.6.1.4.1.311.60.2.1.1	jurisdictionL	jurisdictionLocalityName
1.3.6.1.4.1.311.60.2.1.2	jurisdictionST	jurisdictionStateOrProvinceName
1.3.6.1.4.1.311.60.2.1.3	jurisdictionC	jurisdictionCountryName
1.3.6.1.5.5.7.8.7	id-on-dnsSRV	SRVName
1.3.14.3.2.27	DSA-SHA1-old	dsaWithSHA1-old
1.3.14.3.2.29	RSA-SHA1-2	sha1WithRSA
1.3.101.110	X25519
1.3.101.111	X448
1.3.101.112	ED25519
1.3.101.113	ED448
2.5.4.3	CN	commonName
2.5.4.4	SN	surname
2.5.4.5	serialNumber
2.5.4.6	C	countryName
2.5.4.7	L	localityName
2.5.4.8	ST	stateOrProvinceName
2.5.4.9	street	streetAddress
2.5.4.10	O	organizationName
2.5.4.11	OU	organizationalUnitName
2.5.4.12	title
2.5.4.13	description
2.5.4.14	searchGuide
2.5.4.15	businessCategory
2.5.4.16	postalAddress
2.5.4.17	postalCode
2.5.4.18	postOfficeBox
2.5.4.19	physicalDeliveryOfficeName
2.5.4.20	telephoneNumber
2.5.4.21	telexNumber
2.5.4.22	teletexTerminalIdentifier
2.5.4.23	facsimileTelephoneNumber
2.5.4.24	x121Address
2.5.4.25	internationaliSDNNumber
2.5.4.26	registeredAddress
2.5.4.27	destinationIndicator
2.5.4.28	preferredDeliveryMethod
2.5.4.29	presentationAddress
2.5.4.30	supportedApplicationContext
2.5.4.31	member
2.5.4.32	owner
2.5.4.33	roleOccupant
2.5.4.34	seeAlso
2.5.4.35	userPassword
2.5.4.36	userCertificate
2.5.4.37	cACertificate
2.5.4.38	authorityRevocationList
2.5.4.39	certificateRevocationList
2.5.4.40	crossCertificatePair
2.5.4.41	name
2.5.4.42	GN	givenName
2.5.4.43	initials
2.5.4.44	generationQualifier
2.5.4.45	x500UniqueIdentifier
2.5.4.46	dnQualifier
2.5.4.47	enhancedSearchGuide
2.5.4.48	protocolInformation
2.5.4.49	distinguishedName
2.5.4.50	uniqueMember
2.5.4.51	houseIdentifier
2.5.4.52	supportedAlgorithms
2.5.4.53	deltaRevocationList
2.5.4.54	dmdName
2.5.4.65	pseudonym
2.5.4.72	role
2.5.4.97	organizationIdentifier
2.5.4.98	c3	countryCode3c
2.5.4.99	n3	countryCode3n
2.5.4.100	dnsName
2.16.840.1.101.3.4.3.1	dsa_with_SHA224
2.16.840.1.101.3.4.3.2	dsa_with_SHA256
2.16.840.1.101.3.4.3.3	id-dsa-with-sha384	dsa_with_SHA384
2.16.840.1.101.3.4.3.4	id-dsa-with-sha512	dsa_with_SHA512
2.16.840.1.101.3.4.3.5	id-dsa-with-sha3-224	dsa_with_SHA3-224
2.16.840.1.101.3.4.3.6	id-dsa-with-sha3-256	dsa_with_SHA3-256
2.16.840.1.101.3.4.3.7	id-dsa-with-sha3-384	dsa_with_SHA3-384
2.16.840.1.101.3.4.3.8	id-dsa-with-sha3-512	dsa_with_SHA3-512
2.16.840.1.101.3.4.3.9	id-ecdsa-with-sha3-224	ecdsa_with_SHA3-224
2.16.840.1.101.3.4.3.10	id-ecdsa-with-sha3-256	ecdsa_with_SHA3-256
2.16.840.1.101.3.4.3.11	id-ecdsa-with-sha3-384	ecdsa_with_SHA3-384
2.16.840.1.101.3.4.3.12	id-ecdsa-with-sha3-512	ecdsa_with_SHA3-512
2.16.840.1.101.3.4.3.13	id-rsassa-pkcs1-v1_5-with-sha3-224	RSA-SHA3-224
2.16.840.1.101.3.4.3.14	id-rsassa-pkcs1-v1_5-with-sha3-256	RSA-SHA3-256
2.16.840.1.101.3.4.3.15	id-rsassa-pkcs1-v1_5-with-sha3-384	RSA-SHA3-384
2.16.840.1.101.3.4.3.16	id-rsassa-pkcs1-v1_5-with-sha3-512	RSA-SHA3-512
`;

const NAMES = new Map<string, { short: string; long: string }>();
for (const line of TABLE.split('\n')) {
  const [oid, short, long] = line.split('\t');
  if (oid && short) NAMES.set(oid, { short, long: long ?? short });
}

/** Every object of the table, by dotted identifier. */
export const OBJECT_NAMES: ReadonlyMap<string, { short: string; long: string }> = NAMES;

/** OpenSSL's short name for a dotted identifier (OBJ_nid2sn), undefined when it has none. */
export const shortName = (oid: string): string | undefined => NAMES.get(oid)?.short;

/** OpenSSL's long name for a dotted identifier (OBJ_nid2ln), undefined when it has none. */
export const longName = (oid: string): string | undefined => NAMES.get(oid)?.long;
