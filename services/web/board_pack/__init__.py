"""The monthly board pack: one month's figures for the Performance and Assurance Action Board,
gathered through the APIs as one person (`contents`), shown as a page (`page`), printed to PDF
(`pdf`) and exported as a workbook with one sheet per table (`workbook`)."""
