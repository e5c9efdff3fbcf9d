"""Flat OPC <-> .docx: Word's ``Document.WordOpenXML`` (COM) returns the open document as one XML
string (the "Flat OPC" package, ``pkg:package`` of ``pkg:part``s), without saving it. Converting it
to a .docx lets the agent read the live document with python-docx and leave the user's file alone.
"""

from __future__ import annotations

import base64
import io
import zipfile
from xml.sax.saxutils import quoteattr

from lxml import etree

PKG = "http://schemas.microsoft.com/office/2006/xmlPackage"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


def flat_opc_to_docx(flat: str | bytes) -> bytes:
    """The .docx bytes of a Flat OPC package (what ``Document.WordOpenXML`` returns)."""
    raw = flat.encode("utf-8") if isinstance(flat, str) else flat
    try:
        root = etree.fromstring(raw, _PARSER)
    except etree.XMLSyntaxError as e:
        raise ValueError(f"not a Flat OPC package: {e}") from None
    if root.tag != f"{{{PKG}}}package":
        raise ValueError(f"not a Flat OPC package: root element is {root.tag!r}")
    overrides = []
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for part in root.findall(f"{{{PKG}}}part"):
            name = part.get(f"{{{PKG}}}name", "")
            ctype = part.get(f"{{{PKG}}}contentType", "")
            if not name.startswith("/"):
                raise ValueError(f"Flat OPC part without an absolute name: {name!r}")
            xml = part.find(f"{{{PKG}}}xmlData")
            binary = part.find(f"{{{PKG}}}binaryData")
            if xml is not None and len(xml):
                data = etree.tostring(xml[0], xml_declaration=True, encoding="UTF-8", standalone=True)
            elif binary is not None:
                data = base64.b64decode("".join((binary.text or "").split()))
            else:
                data = b""
            z.writestr(name[1:], data)
            if not name.endswith(".rels"):
                overrides.append((name, ctype))
        types = [
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
            f'<Types xmlns="{CT}">',
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>',
        ]
        types += [f"<Override PartName={quoteattr(n)} ContentType={quoteattr(c)}/>" for n, c in overrides]
        types.append("</Types>")
        z.writestr("[Content_Types].xml", "".join(types))
    return buf.getvalue()


def docx_to_flat_opc(data: bytes) -> str:
    """The Flat OPC string of a .docx (the inverse; a simulated Word's ``WordOpenXML``)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        ct_root = etree.fromstring(z.read("[Content_Types].xml"), _PARSER)
        defaults = {
            d.get("Extension", "").lower(): d.get("ContentType") for d in ct_root.findall(f"{{{CT}}}Default")
        }
        overrides = {o.get("PartName"): o.get("ContentType") for o in ct_root.findall(f"{{{CT}}}Override")}
        pkg = etree.Element(f"{{{PKG}}}package", nsmap={"pkg": PKG})
        for info in z.infolist():
            if info.filename == "[Content_Types].xml" or info.is_dir():
                continue
            name = "/" + info.filename
            ctype = overrides.get(name) or defaults.get(
                name.rsplit(".", 1)[-1].lower(), "application/octet-stream"
            )
            part = etree.SubElement(pkg, f"{{{PKG}}}part")
            part.set(f"{{{PKG}}}name", name)
            part.set(f"{{{PKG}}}contentType", ctype)
            body = z.read(info.filename)
            if ctype.endswith("xml"):
                etree.SubElement(part, f"{{{PKG}}}xmlData").append(etree.fromstring(body, _PARSER))
            else:
                part.set(f"{{{PKG}}}compression", "store")
                etree.SubElement(part, f"{{{PKG}}}binaryData").text = base64.b64encode(body).decode()
    head = '<?xml version="1.0" standalone="yes"?>\n<?mso-application progid="Word.Document"?>\n'
    return head + etree.tostring(pkg, encoding="unicode")
