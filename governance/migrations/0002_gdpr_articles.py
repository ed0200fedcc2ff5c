"""Reference data: the points of GDPR Art. 6(1) and Art. 9(2) with their short titles."""

from django.db import migrations


def seed(apps, schema_editor):
    from governance.choices import GDPR_ARTICLES

    Article = apps.get_model("governance", "LegalBasisArticle")
    for article, point, title, needs_law in GDPR_ARTICLES:
        Article.objects.update_or_create(
            article=article, point=point, defaults={"title": title, "needs_law": needs_law}
        )


class Migration(migrations.Migration):
    dependencies = [("governance", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
